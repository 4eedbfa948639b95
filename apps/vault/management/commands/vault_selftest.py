"""Prove the configured keys work: write canary values, read them back, search them, delete them."""

from django.core.management.base import BaseCommand, CommandError

from apps.vault.crypto import VaultError
from apps.vault.keys import current_key_id
from apps.vault.selectors import scan_table, vault_tables
from apps.vault.services import do_selftest

SHOWN_ERRORS = 10


class Command(BaseCommand):
    help = (
        "加密自检：在自检表写入金丝雀值、读回、按盲索引查找并删除，全部通过时打印 OK；"
        "加 --scan 时再逐表检查每个加密值能否解密、使用哪把密钥、盲索引是否为当前密钥所算。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--scan", action="store_true", help="逐行检查所有加密表（大表较慢）")

    def handle(self, *args, **options):
        try:
            lines = do_selftest(actor=None)
        except VaultError as exc:
            raise CommandError(str(exc)) from exc
        for line in lines:
            self.stdout.write(line)
        if options["scan"]:
            self._scan()
        self.stdout.write(self.style.SUCCESS("OK"))

    def _scan(self):
        current = current_key_id()
        unreadable, old_values, stale = [], 0, 0
        for table in vault_tables():
            scan = scan_table(table)
            self.stdout.write(f"{scan.label}：{scan.rows} 行")
            for column, counts in scan.key_ids.items():
                usage = "，".join(f"{key_id} {count}" for key_id, count in sorted(counts.items())) or "无加密值"
                self.stdout.write(f"  {column}：{usage}")
                old_values += sum(count for key_id, count in counts.items() if key_id != current)
            unreadable += scan.unreadable
            stale += scan.stale_indexes
        if old_values:
            self.stdout.write(
                self.style.WARNING(
                    f"尚有 {old_values} 个值使用旧密钥：运行 rotate_keys 之后才能从 XINYUAN_FIELD_KEYS 删除旧密钥。"
                )
            )
        if stale:
            self.stdout.write(
                self.style.WARNING(f"有 {stale} 行的盲索引不是用当前索引密钥算的：运行 rotate_keys --new-index-key。")
            )
        if unreadable:
            for message in unreadable[:SHOWN_ERRORS]:
                self.stderr.write(message)
            raise CommandError(f"有 {len(unreadable)} 行无法解密（见上）。")
