"""``manage.py restore FILE``: decrypt a backup into a database, then verify what was restored."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.backups.services import do_restore


class Command(BaseCommand):
    help = (
        "从 .xyb 备份恢复数据库：核对清单中的 SHA-256 和密钥指纹，解密（认证标签不符时拒绝，不写入任何数据）、"
        "解压后写入目标数据库，再校验恢复后的审计日志链并与清单比较各表行数。说明见 docs/backups.md。"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="备份文件（.xyb），同目录下须有同名 .json 清单")
        parser.add_argument(
            "--target-database-url",
            default=None,
            help="目标数据库，如 sqlite:////srv/xinyuan/var/xinyuan.sqlite3 或 postgres://用户@主机:5432/库名"
            "（默认为当前配置的数据库）",
        )
        parser.add_argument("--yes", action="store_true", help="确认覆盖已有数据的目标数据库")

    def handle(self, *args, file, target_database_url=None, yes=False, **options):
        try:
            report = do_restore(
                actor=None,
                backup_path=file,
                target_url=target_database_url,
                overwrite=yes,
                echo=self.stdout.write,
            )
        except ValidationError as error:
            raise CommandError("恢复失败：" + "".join(error.messages)) from error
        problems = []
        result = report.verification
        for note in result.notes:
            self.stdout.write(note)
        if result.ok and report.head_matches:
            self.stdout.write(
                self.style.SUCCESS(
                    f"审计日志校验通过：共 {result.count} 条，末条第 {result.last_seq} 条，哈希 {result.last_hash}，"
                    f"与备份清单一致。"
                )
            )
        elif not result.ok:
            finding = result.finding
            where = f"（第 {finding.seq} 条）" if finding.seq is not None else ""
            problems.append("审计日志")
            self.stderr.write(f"审计日志校验未通过：{finding.kind_label}{where}。{finding.message}")
        else:
            head = report.manifest["audit_head"]
            problems.append("审计日志")
            self.stderr.write(
                f"审计日志链自身完整，但末条为第 {result.last_seq} 条，"
                f"清单记录的是第 {head['seq']} 条：与备份时不一致。"
            )
        if report.row_differences:
            problems.append("行数")
            self.stderr.write("各表行数与备份清单不符：")
            for line in report.row_differences:
                self.stderr.write(f"  {line}")
        else:
            counts = report.manifest["row_counts"]
            self.stdout.write(
                self.style.SUCCESS(f"各表行数与备份清单一致：{len(counts)} 张表，共 {sum(counts.values())} 行。")
            )
        if report.migration_differences:
            problems.append("迁移状态")
            self.stderr.write("已应用的数据库迁移与备份清单不符：")
            for line in report.migration_differences:
                self.stderr.write(f"  {line}")
        if problems:
            raise CommandError(
                f"恢复已写入 {report.target}，但{'、'.join(problems)}与备份不一致，请勿投入使用。", returncode=1
            )
        self.stdout.write(self.style.SUCCESS(f"恢复完成：{report.target}。"))
