"""Re-encrypt every sensitive field with the current key; optionally recompute the blind indexes."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from apps.vault.crypto import VaultError
from apps.vault.services import DEFAULT_BATCH_SIZE, do_rotate_keys, key_summary


class Command(BaseCommand):
    help = (
        "用 XINYUAN_FIELD_KEYS 的第一把密钥重新加密所有敏感字段（分批、每批一个事务，可中断后重跑）；"
        "加 --new-index-key 时按当前 XINYUAN_INDEX_KEY 重算所有盲索引。步骤见 docs/vault.md。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="每批处理的行数")
        parser.add_argument(
            "--new-index-key",
            action="store_true",
            help="盲索引密钥已更换（XINYUAN_INDEX_KEY 为新密钥，XINYUAN_INDEX_KEY_PREVIOUS 为旧密钥）"
            "或规范化函数已修改：按当前索引密钥重算所有盲索引",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="数据库别名")

    def handle(self, *args, **options):
        if options["batch_size"] < 1:
            raise CommandError("--batch-size 必须是正整数。")
        reindex = options["new_index_key"]
        for line in key_summary():
            self.stdout.write(line)
        if reindex and not settings.VAULT_INDEX_KEY_PREVIOUS:
            self.stdout.write(
                self.style.WARNING(
                    "提示：未设置 XINYUAN_INDEX_KEY_PREVIOUS，重算完成之前，尚未重算的记录按精确查找将查不到。"
                )
            )

        def progress(label, done, total, rewritten):
            self.stdout.write(f"{label}：已检查 {done}/{total} 行，已改写 {rewritten} 行")

        try:
            report = do_rotate_keys(
                actor=None,
                batch_size=options["batch_size"],
                reindex=reindex,
                using=options["database"],
                progress=progress,
            )
        except VaultError as exc:
            raise CommandError(
                f"{exc}。此前的批次已提交；请把缺失的旧密钥加回 XINYUAN_FIELD_KEYS 或修复该行后重新运行。"
            ) from exc
        done = f"完成：共改写 {report.rewritten} 行，所有加密字段均已使用密钥 {report.key_id}"
        if report.reindexed:
            done += "，盲索引已按当前索引密钥重算"
        self.stdout.write(self.style.SUCCESS(done + "。"))
