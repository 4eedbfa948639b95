from django.core.management.base import BaseCommand, CommandError

from apps.audit.verification import default_head_file, run_verification


class Command(BaseCommand):
    help = (
        "校验审计日志哈希链：报告第一处被修改、删除、插入或调换顺序的条目，并与库外的头记录比较以发现截断或改写。"
        "同时检查每条的密钥签名（HMAC），报告第一条签名无效的条目。通过时写入新的头记录；"
        "每次运行都在只追加的头记录日志（AUDIT_HEAD_LOG）中追加一行；失败时退出码为 1。"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--head-file",
            default=None,
            help="头记录文件路径（默认取设置 AUDIT_HEAD_FILE，即 var/audit-head.json）。应放在数据库以外。",
        )
        parser.add_argument(
            "--head-log",
            default=None,
            help="头记录日志路径（默认取设置 AUDIT_HEAD_LOG，即 var/audit-head.log），例如第二台机器上的副本。",
        )
        parser.add_argument(
            "--no-write-head",
            action="store_true",
            help="只比较、不写入头记录和头记录日志（例如与只读存储上的历史副本比较）。",
        )
        parser.add_argument("--batch-size", type=int, default=2000, help="每批读取的条目数（默认 2000）。")

    def handle(self, *args, head_file=None, head_log=None, no_write_head=False, batch_size=2000, **options):
        if batch_size < 1:
            raise CommandError("--batch-size 必须为正整数。")
        try:
            result = run_verification(
                head_file or default_head_file(),
                record=not no_write_head,
                batch_size=batch_size,
                log_source=None if no_write_head else "verify_audit",
                head_log=head_log,
            )
        except OSError as error:
            raise CommandError(f"日志链校验通过，但无法写入头记录文件：{error}", returncode=1) from error
        for note in result.notes:
            self.stdout.write(note)
        if not result.ok:
            finding = result.finding
            where = f"（第 {finding.seq} 条）" if finding.seq is not None else ""
            raise CommandError(
                f"审计日志校验未通过：{finding.kind_label}{where}。{finding.message}"
                f"已校验通过 {result.count} 条。头记录未更新。",
                returncode=1,
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"审计日志完整：共 {result.count} 条，末条第 {result.last_seq} 条，哈希 {result.last_hash}。"
            )
        )
