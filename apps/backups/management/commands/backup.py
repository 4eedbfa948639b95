"""``manage.py backup``: an encrypted, compressed dump of the database plus its manifest."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import filesizeformat

from apps.backups.services import do_backup


class Command(BaseCommand):
    help = (
        "备份数据库：SQLite 用在线备份接口、PostgreSQL 用 pg_dump 取得一致的快照，压缩后用 XINYUAN_BACKUP_KEY "
        "以 AES-256-GCM 加密，写成 xinyuan-<数据库类型>-<UTC 时间>.xyb 和同名 .json 清单。说明见 docs/backups.md。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--output-dir", default=None, help="备份目录（默认取设置 BACKUP_DIR，即 var/backups）")
        parser.add_argument("--keep", type=int, default=None, help="只保留该目录中最新的 N 份备份，删除更早的")

    def handle(self, *args, output_dir=None, keep=None, **options):
        # ImproperlyConfigured (production without XINYUAN_BACKUP_KEY) propagates on purpose.
        try:
            result = do_backup(actor=None, output_dir=output_dir, keep=keep)
        except ValidationError as error:
            raise CommandError("备份失败：" + "".join(error.messages)) from error
        manifest = result.manifest
        head = manifest["audit_head"] or {}
        self.stdout.write(self.style.SUCCESS(f"备份完成：{result.path}（{filesizeformat(manifest['size'])}）"))
        self.stdout.write(f"清单：{result.manifest_path}")
        self.stdout.write(
            f"共 {len(manifest['row_counts'])} 张表、{manifest['total_rows']} 行；"
            f"审计日志末条第 {head.get('seq', 0)} 条；密钥指纹 {manifest['key_fingerprint']}。"
        )
        if manifest["development_key"]:
            self.stdout.write(
                self.style.WARNING(
                    "警告：未设置 XINYUAN_BACKUP_KEY，使用由 SECRET_KEY 派生的开发密钥（dev-only），"
                    "此备份只能用于演示数据。"
                )
            )
        if result.deleted:
            self.stdout.write(f"已删除较早的备份 {len(result.deleted)} 份：{'、'.join(p.name for p in result.deleted)}")
