"""The backup file format: a gzip stream sealed with AES-256-GCM, written and read in chunks.

Layout of a ``.xyb`` file::

    "XYB1" | engine code (1 byte) | nonce (12 bytes) | ciphertext … | GCM tag (16 bytes)

The 17-byte header is authenticated as associated data, so the engine and the nonce cannot be
changed without the tag check failing. The plaintext is the gzip-compressed database dump (the
SQLite database file, or ``pg_dump --format=custom`` output). Nothing is ever held in memory
whole: both directions run through ``CHUNK`` sized pieces.

On reading, GCM releases plaintext before the tag at the end has been checked, so ``unseal``
only ever writes into a sink the caller throws away unless ``unseal`` returns normally.
"""

import hashlib
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MAGIC = b"XYB1"
NONCE_BYTES = 12
TAG_BYTES = 16
HEADER_BYTES = len(MAGIC) + 1 + NONCE_BYTES
CHUNK = 1024 * 1024
GZIP_WBITS = 31  # zlib with a gzip header, so a decrypted body can also be read with gunzip
ENGINE_CODES = {"sqlite": b"S", "postgresql": b"P"}
ENGINES_BY_CODE = {code: engine for engine, code in ENGINE_CODES.items()}


class BackupFileError(Exception):
    """The backup file cannot be used; the message (Chinese) says why. Nothing has been restored."""


@dataclass(frozen=True)
class SealResult:
    nonce: str  # hex
    sha256: str  # of the whole encrypted file
    size: int  # bytes of the encrypted file
    plain_size: int  # bytes of the dump before compression


@dataclass(frozen=True)
class Header:
    engine: str
    nonce: bytes
    raw: bytes


def seal(source: BinaryIO, target: BinaryIO, *, key: bytes, engine: str) -> SealResult:
    """Compress and encrypt everything ``source`` yields into ``target``; return what the manifest needs."""
    nonce = os.urandom(NONCE_BYTES)
    header = MAGIC + ENGINE_CODES[engine] + nonce
    encryptor = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(header)
    compressor = zlib.compressobj(6, zlib.DEFLATED, GZIP_WBITS)
    digest = hashlib.sha256()
    size = plain_size = 0

    def emit(data: bytes) -> None:
        nonlocal size
        if data:
            target.write(data)
            digest.update(data)
            size += len(data)

    emit(header)
    while chunk := source.read(CHUNK):
        plain_size += len(chunk)
        emit(encryptor.update(compressor.compress(chunk)))
    emit(encryptor.update(compressor.flush()))
    emit(encryptor.finalize())
    emit(encryptor.tag)
    return SealResult(nonce=nonce.hex(), sha256=digest.hexdigest(), size=size, plain_size=plain_size)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_header(path: Path) -> Header:
    """The authenticated-but-not-yet-verified header of ``path``, or BackupFileError."""
    with open(path, "rb") as handle:
        raw = handle.read(HEADER_BYTES)
    if len(raw) < HEADER_BYTES or not raw.startswith(MAGIC):
        raise BackupFileError(f"{Path(path).name} 不是心援备份文件（文件头不符）。")
    engine = ENGINES_BY_CODE.get(raw[len(MAGIC) : len(MAGIC) + 1])
    if engine is None:
        raise BackupFileError(f"{Path(path).name} 的文件头中数据库类型无法识别，文件可能已损坏。")
    return Header(engine=engine, nonce=raw[len(MAGIC) + 1 :], raw=raw)


def unseal(path: Path, sink: BinaryIO, *, key: bytes) -> int:
    """Decrypt and decompress ``path`` into ``sink``; return the bytes written.

    Raises BackupFileError when the GCM tag does not verify (the file was changed, or the key is
    not the one it was made with) or when the verified content does not decompress. In both cases
    the sink holds unusable bytes and the caller must discard it.
    """
    path = Path(path)
    header = read_header(path)
    total = path.stat().st_size
    if total < HEADER_BYTES + TAG_BYTES:
        raise BackupFileError(f"{path.name} 长度不足，已被截断。")
    body_end = total - TAG_BYTES
    with open(path, "rb") as handle:
        handle.seek(body_end)
        tag = handle.read(TAG_BYTES)
        handle.seek(HEADER_BYTES)
        decryptor = Cipher(algorithms.AES(key), modes.GCM(header.nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(header.raw)
        decompressor = zlib.decompressobj(GZIP_WBITS)
        written, remaining, broken = 0, body_end - HEADER_BYTES, False

        def feed(data: bytes) -> None:
            nonlocal written, broken
            if broken or not data:
                return
            try:
                plain = decompressor.decompress(data)
            except zlib.error:
                broken = True  # keep decrypting: the tag tells tampering from a bad archive
                return
            sink.write(plain)
            written += len(plain)

        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                raise BackupFileError(f"{path.name} 在读取过程中变短了，请重试。")
            remaining -= len(chunk)
            feed(decryptor.update(chunk))
        try:
            feed(decryptor.finalize())
        except InvalidTag as exc:
            raise BackupFileError(
                f"{path.name} 未通过完整性校验（AES-GCM 认证标签不符）：文件被改动或损坏，"
                f"或当前 XINYUAN_BACKUP_KEY 不是制作该备份时所用的密钥。未写入任何数据。"
            ) from exc
    if broken or not decompressor.eof or decompressor.unused_data:
        raise BackupFileError(f"{path.name} 通过了完整性校验，但内容无法解压，备份在制作时已损坏。未写入任何数据。")
    tail = decompressor.flush()
    if tail:
        sink.write(tail)
        written += len(tail)
    return written
