"""``asxh-pay --help`` in Vietnamese (the default), English with ``--lang en``.

Why a table keyed by the English text: every module keeps registering its commands in
English (one place to read, no language plumbing through every ``add_argument``), and this
module rewrites the built parser for Vietnamese readers: each help line, each description,
argparse's own headings ("usage", "options"). A string without a translation stays in
English rather than disappear; a test lists the commands of the monthly workflow and fails
when one of their lines is not translated.

The language is chosen before the parser exists (:func:`lang_from_argv`): ``--lang en`` or
``--lang=en`` anywhere on the command line, else ``$ASXH_PAY_LANG``, else Vietnamese.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["HELP_VI", "help_strings", "lang_from_argv", "localise"]

HELP_VI: dict[str, str] = {
    # argparse's own.
    "show this help message and exit": "hiện hướng dẫn này rồi thoát",
    "show program's version number and exit": "hiện phiên bản rồi thoát",
    # The command.
    "Pay social benefits (ASXH) without cash: prepare, approve and run the monthly payroll, reconcile "
    "with providers, and report per commune and district.": (
        "Chi trả trợ cấp an sinh xã hội không dùng tiền mặt: lập, phê duyệt và chi trả danh sách "
        "hằng tháng, đối chiếu với các đơn vị chi trả và báo cáo theo xã, tỉnh."
    ),
    "Pay social benefits (ASXH) without cash: prepare, approve and run the monthly payroll, reconcile "
    "with providers, and report per commune and province.": (
        "Chi trả trợ cấp an sinh xã hội không dùng tiền mặt: lập, phê duyệt và chi trả danh sách "
        "hằng tháng, đối chiếu với các đơn vị chi trả và báo cáo theo xã, tỉnh."
    ),
    "log more detail (personal data stays masked)": (
        "ghi nhật ký chi tiết hơn (thông tin cá nhân vẫn được che)"
    ),
    # Commands, in the order of the month.
    "operator signing keys (for preparing and approving runs)": (
        "khóa ký của cán bộ (để lập và phê duyệt đợt chi)"
    ),
    "the sandbox population register (deaths, entitlements)": (
        "CSDL dân cư thử nghiệm (báo tử, thôi hưởng trợ cấp)"
    ),
    "read the commune lists, check them and freeze a run for approval": (
        "đọc danh sách của các xã, kiểm tra và chốt đợt chi để phê duyệt"
    ),
    "approve a prepared run (a different operator than the preparer)": (
        "phê duyệt đợt chi đã lập (cán bộ khác với người lập)"
    ),
    "pay an approved run (safe to stop; continue with --resume)": (
        "chi trả đợt chi đã phê duyệt (dừng giữa chừng an toàn; tiếp tục bằng --resume)"
    ),
    "compare the ledger with what providers and banks say was paid": (
        "đối chiếu sổ cái với số liệu đã chi của các đơn vị chi trả và ngân hàng"
    ),
    "write the commune/province reports of a run (CSV and Excel)": (
        "lập báo cáo theo xã, tỉnh của đợt chi (CSV và Excel)"
    ),
    "write the commune/district/province reports of a run (CSV and Excel)": (
        "lập báo cáo theo xã, tỉnh của đợt chi (CSV và Excel)"
    ),
    "show prepared, approved and paid runs": "xem các đợt chi đã lập, đã phê duyệt, đã chi trả",
    "inspect the durable ledger": "kiểm tra sổ cái",
    "run a whole synthetic month for a province (20,000 beneficiaries) in one go": (
        "chạy thử trọn một tháng chi trả của một tỉnh giả lập (20.000 đối tượng)"
    ),
    "run a whole synthetic month for a district (20,000 beneficiaries) in one go": (
        "chạy thử trọn một tháng chi trả giả lập (20.000 đối tượng)"
    ),
    "run a provider sandbox": "chạy môi trường thử nghiệm của một đơn vị chi trả",
    "manage the ledger database schema": "quản lý cấu trúc cơ sở dữ liệu sổ cái",
    "record payout requests in the ledger without paying them (workers pay them)": (
        "ghi lệnh chi vào sổ cái mà chưa chi (các tiến trình worker sẽ chi)"
    ),
    "pay payouts from a shared PostgreSQL ledger (run many, on many machines)": (
        "chi trả từ sổ cái PostgreSQL dùng chung (nhiều tiến trình, nhiều máy)"
    ),
    # Shared options.
    "where the ledger, keys, runs and reports are kept (default: %(default)s)": (
        "thư mục chứa sổ cái, khóa, đợt chi và báo cáo (mặc định: %(default)s)"
    ),
    "ledger URL (default: sqlite:///<data-dir>/ledger.db)": (
        "địa chỉ sổ cái (mặc định: sqlite:///<data-dir>/ledger.db)"
    ),
    "ledger URL (default: %(default)s)": "địa chỉ sổ cái (mặc định: %(default)s)",
    "machine-readable output for scripts": "kết quả dạng JSON cho chương trình khác đọc",
    "machine-readable output": "kết quả dạng JSON cho chương trình khác đọc",
    "language of report headers: vi (default) or en": "ngôn ngữ hiển thị và báo cáo: vi (mặc định) hoặc en",
    "language of messages, help and reports: vi (default) or en": (
        "ngôn ngữ hiển thị và báo cáo: vi (mặc định) hoặc en"
    ),
    # demo
    "Make a synthetic province paying six communes centrally (lists of NCC, BTXH and the social pension, "
    "one still in pre-2025 codes; population register; two operators), then prepare, approve, pay, "
    "reconcile and report the month on the built-in sandboxes. Each demo uses a fresh folder under "
    "<data-dir>/demo/.": (
        "Tạo một tỉnh giả lập chi trả tập trung cho sáu xã (danh sách NCC, BTXH và trợ cấp hưu trí xã "
        "hội, một danh sách còn mã đơn vị cũ trước 2025; CSDL dân cư; hai cán bộ), rồi lập, phê duyệt, "
        "chi trả, đối chiếu và báo cáo cả tháng trên các môi trường thử nghiệm có sẵn. Mỗi lần chạy "
        "dùng một thư mục mới trong <data-dir>/demo/."
    ),
    "how many (default: %(default)s)": "số đối tượng (mặc định: %(default)s)",
    "pay period YYYY-MM (default: %(default)s)": "kỳ chi trả YYYY-MM (mặc định: %(default)s)",
    "how many of the province's communes pay (default: 6; 0: all, a province-scale run)": (
        "số xã của tỉnh được chi trả (mặc định: 6; 0: tất cả, chạy quy mô cả tỉnh)"
    ),
    # keys
    "create an operator's key pair": "tạo cặp khóa cho một cán bộ",
    "Create an Ed25519 key pair for an operator: the private key signs the runs they prepare or approve; "
    "the public key goes to <data-dir>/keys/trusted.": (
        "Tạo cặp khóa Ed25519 cho cán bộ: khóa bí mật dùng để ký các đợt chi họ lập hoặc phê duyệt; "
        "khóa công khai được lưu trong <data-dir>/keys/trusted."
    ),
    "the operator's short name, e.g. lan.nguyen": "tên viết tắt của cán bộ, ví dụ lan.nguyen",
    "where to write the private key": "nơi ghi khóa bí mật",
    "replace an existing key of this operator": "thay khóa hiện có của cán bộ này",
    "once, at setup: create the office key and the operator roster": (
        "làm một lần khi cài đặt: tạo khóa văn phòng và danh bạ khóa cán bộ"
    ),
    "trust an operator's public key (signed by another operator or the office)": (
        "tin cậy khóa công khai của một cán bộ (do cán bộ khác hoặc văn phòng ký)"
    ),
    "stop trusting an operator (signed by another operator or the office)": (
        "thôi tin cậy một cán bộ (do cán bộ khác hoặc văn phòng ký)"
    ),
    "verify and show the operator roster": "kiểm tra và hiện danh bạ khóa cán bộ",
    "replace an existing key file (never a key the roster trusts)": (
        "thay tệp khóa hiện có (không bao giờ thay khóa mà danh bạ đang tin cậy)"
    ),
    "Create the office's Ed25519 key, which signs enrolments when no operator can, and start the signed "
    "operator roster (<data-dir>/keys/roster.jsonl).": (
        "Tạo khóa Ed25519 của văn phòng, dùng để ký ghi danh khi không cán bộ nào ký được, và lập danh "
        "bạ khóa cán bộ có chữ ký (<data-dir>/keys/roster.jsonl)."
    ),
    "where to write the office's private key": "nơi ghi khóa bí mật của văn phòng",
    "Trust an operator's public key (signed by another operator or the office). Appended to the signed "
    "roster.": (
        "Tin cậy khóa công khai của một cán bộ (do cán bộ khác hoặc văn phòng ký). Ghi thêm vào danh bạ "
        "khóa có chữ ký."
    ),
    "whose key": "khóa của ai",
    "the operator's public key (from keys generate)": "khóa công khai của cán bộ (do keys generate tạo)",
    "replace the enrolled operator's key": "thay khóa của cán bộ đã ghi danh",
    "another enrolled operator, or 'office'": "một cán bộ khác đã ghi danh, hoặc 'office' (văn phòng)",
    "the signer's private key (default: <data-dir>/keys/SIGNER.pem)": (
        "khóa bí mật của người ký (mặc định: <data-dir>/keys/SIGNER.pem)"
    ),
    "Stop trusting an operator (signed by another operator or the office). Appended to the signed roster.": (
        "Thôi tin cậy một cán bộ (do cán bộ khác hoặc văn phòng ký). Ghi thêm vào danh bạ khóa có chữ ký."
    ),
    "payroll folder whose operator roster is checked too (default: the SQLite ledger's folder)": (
        "thư mục chi trả có danh bạ khóa cán bộ cần kiểm tra cùng (mặc định: thư mục của sổ cái SQLite)"
    ),
    "environment variable holding the --provider-url provider's HMAC secret (without it, the sandbox's "
    "published secret: sandbox addresses only)": (
        "biến môi trường chứa khóa bí mật HMAC của đơn vị chi trả tại --provider-url (không có thì dùng "
        "khóa công bố của môi trường thử nghiệm: chỉ với địa chỉ thử nghiệm)"
    ),
    # prepare
    "Read the lists (CSV or Excel), reject bad rows, merge duplicates, check every person against the "
    "population register and every account with its provider, then freeze the run and sign it as the "
    "preparer. Nothing is paid. Reports of rejected and held rows are written to the run folder.": (
        "Đọc danh sách (CSV hoặc Excel), loại dòng sai, gộp dòng trùng, đối chiếu từng người với CSDL "
        "quốc gia về dân cư và từng tài khoản với đơn vị chi trả, rồi chốt đợt chi và ký với tư cách "
        "người lập. Chưa chi tiền. Danh sách dòng bị loại và tạm giữ được ghi vào thư mục đợt chi."
    ),
    "list files (.csv, .xlsx) or folders of them": "tệp danh sách (.csv, .xlsx) hoặc thư mục chứa chúng",
    "list files (.csv, .xlsx, .xls) or folders of them": (
        "tệp danh sách (.csv, .xlsx, .xls) hoặc thư mục chứa chúng"
    ),
    "pay period YYYY-MM, e.g. 2026-11": "kỳ chi trả YYYY-MM, ví dụ 2026-11",
    "who prepares the run (signs it)": "cán bộ lập đợt chi (người ký)",
    "the operator's private key (default: <data-dir>/keys/OPERATOR.pem)": (
        "khóa bí mật của cán bộ (mặc định: <data-dir>/keys/OPERATOR.pem)"
    ),
    "NCC, BTXH or HTXH (or one of programmes.json) when the lists have none": (
        "NCC, BTXH hoặc HTXH (hoặc một chương trình trong programmes.json) khi danh sách không ghi"
    ),
    "NCC or BTXH when the lists have no programme column": (
        "NCC hoặc BTXH khi danh sách không có cột chương trình"
    ),
    "the paying commune's 2025 code (5 digits); rows without one are its": (
        "mã xã chi trả theo đơn vị hành chính 2025 (5 chữ số); dòng không ghi mã xã thuộc xã này"
    ),
    "the 2025 province code (2 digits): a province paying centrally for its communes (default: the unit "
    "the lists name)": (
        "mã tỉnh 2025 (2 chữ số): tỉnh chi trả tập trung cho các xã (mặc định: đơn vị ghi trong danh sách)"
    ),
    "unit codes of the lists: auto (default: a district column or an old-only code marks a list as "
    "pre-2025), 2025, or pre2025 (map every list's old codes)": (
        "loại mã đơn vị trong danh sách: auto (mặc định: có cột huyện hoặc mã chỉ có trước 2025 thì là "
        "danh sách cũ), 2025, hoặc pre2025 (chuyển đổi mọi mã cũ)"
    ),
    "force the CSV encoding (utf-8, cp1258...)": "chỉ định bảng mã tệp CSV (utf-8, cp1258...)",
    "skip the account/name inquiry with the providers": "bỏ qua bước xác minh tài khoản và tên chủ tài khoản",
    # approve
    "Check the frozen run and its preparer's signature, then sign it as approver.": (
        "Kiểm tra đợt chi đã chốt và chữ ký của người lập, rồi ký phê duyệt."
    ),
    "the run to approve": "đợt chi cần phê duyệt",
    "who approves (must not be the preparer)": "cán bộ phê duyệt (không được là người lập)",
    "the approver's private key (default: <data-dir>/keys/OPERATOR.pem)": (
        "khóa bí mật của người phê duyệt (mặc định: <data-dir>/keys/OPERATOR.pem)"
    ),
    # run
    "Pay exactly the approved payouts. Each beneficiary is paid at most once, whatever happens: after a "
    "crash or Ctrl-C, run again with --resume. Failed electronic payouts are paid in cash through the "
    "postal service.": (
        "Chi trả đúng các khoản đã phê duyệt. Mỗi đối tượng được chi nhiều nhất một lần dù có sự cố: "
        "sau khi máy dừng đột ngột hoặc nhấn Ctrl-C, chạy lại với --resume. Khoản chi điện tử không "
        "thành công được chuyển chi tiền mặt qua bưu điện."
    ),
    "the approved run": "đợt chi đã phê duyệt",
    "continue a run that was interrupted": "tiếp tục đợt chi bị gián đoạn",
    "payouts in flight (default: %(default)s)": "số khoản chi xử lý đồng thời (mặc định: %(default)s)",
    "no progress bar": "không hiện thanh tiến độ",
    # status
    "one run (default: all)": "một đợt chi (mặc định: tất cả)",
    # report
    "Recompute every figure from the ledger and write the reports, including the monthly report for the "
    "province and the postal service's cash list.": (
        "Tính lại mọi số liệu từ sổ cái và lập báo cáo, gồm báo cáo tháng gửi tỉnh và danh sách chi "
        "trả tiền mặt cho bưu điện."
    ),
    "folder for the reports (default: the run's folder)": (
        "thư mục lưu báo cáo (mặc định: thư mục của đợt chi)"
    ),
    "also sign the run's ledger history into ledger-anchor.jsonl with this operator's key (checked later "
    "by 'asxh-pay ledger verify --anchor')": (
        "ký thêm lịch sử sổ cái của đợt chi vào ledger-anchor.jsonl bằng khóa của cán bộ này (kiểm tra "
        "sau bằng 'asxh-pay ledger verify --anchor')"
    ),
    "the signer's private key (default: <data-dir>/keys/OPERATOR.pem)": (
        "khóa bí mật của người ký (mặc định: <data-dir>/keys/OPERATOR.pem)"
    ),
    # reconcile
    "With a run id only: compare the run's payouts with the providers' settlement reports (downloaded "
    "from each rail, or given as files: MoMo and VNPost CSV, Viettel Money JSON). With ISO 20022 files "
    "(pain.002, camt.053/camt.054, provider status lists as JSON/CSV): three-way reconciliation of the "
    "ledger, the status reports and the bank statements. Exit code 1 when a break needs a person.": (
        "Chỉ với mã đợt chi: đối chiếu các khoản chi của đợt với báo cáo đối soát của các đơn vị chi "
        "trả (tải về từ từng kênh, hoặc kèm tệp: CSV của MoMo và VNPost, JSON của Viettel Money). "
        "Kèm tệp ISO 20022 "
        "(pain.002, camt.053/camt.054, danh sách trạng thái JSON/CSV): đối chiếu ba bên giữa sổ cái, "
        "báo cáo trạng thái và sao kê ngân hàng. Mã thoát 1 khi có chênh lệch cần người xử lý."
    ),
    "a run id (default: everything) and/or report files to reconcile against": (
        "mã đợt chi (mặc định: tất cả) và/hoặc các tệp báo cáo để đối chiếu"
    ),
    "only payouts of this provider are expected on the statements": (
        "chỉ các khoản chi qua đơn vị chi trả này mới có trên sao kê"
    ),
    "record what the bank proves (late returns, lagging statuses) in the ledger": (
        "ghi vào sổ cái những gì ngân hàng xác nhận (hoàn trả muộn, trạng thái chậm)"
    ),
    "write the report (.csv, .xlsx or .json); may be repeated": (
        "ghi báo cáo (.csv, .xlsx hoặc .json); có thể lặp lại"
    ),
    "leave matched lines out of the report": "không ghi các dòng đã khớp vào báo cáo",
    "the bank rail's debtor account; bookings on other accounts are breaks, and nothing from the "
    "statements is applied without it (may be repeated)": (
        "tài khoản chi của đơn vị tại ngân hàng; bút toán trên tài khoản khác là chênh lệch, và không "
        "áp dụng gì từ sao kê khi thiếu tùy chọn này (có thể lặp lại)"
    ),
    "a proprietary bank transaction code (BkTxCd/Prtry/Cd) your bank uses for returned payments, "
    "besides RtrInf and the ISO RRTN sub-family (may be repeated)": (
        "mã giao dịch riêng của ngân hàng (BkTxCd/Prtry/Cd) dùng cho khoản bị hoàn trả, ngoài RtrInf "
        "và nhóm ISO RRTN (có thể lặp lại)"
    ),
    # registry
    "record a death (stops that person's payouts)": "ghi nhận báo tử (dừng chi trả cho người này)",
    "end a person's entitlement to a programme": (
        "chấm dứt hưởng trợ cấp của một người trong một chương trình"
    ),
    "add the people named in lists to the sandbox register": (
        "thêm những người trong danh sách vào CSDL thử nghiệm"
    ),
    "date of death YYYY-MM-DD (default: today)": "ngày mất YYYY-MM-DD (mặc định: hôm nay)",
    # ledger
    "check that no status event was edited or removed (hash chains, signed anchors)": (
        "kiểm tra không có sự kiện trạng thái nào bị sửa hay xóa (chuỗi băm, mốc đã ký)"
    ),
    "sign the ledger's chain heads into a file kept outside the database": (
        "ký đầu chuỗi của sổ cái vào một tệp lưu ngoài cơ sở dữ liệu"
    ),
    "Recompute every payout's hash-chained history and report any break. With --anchor, also check that "
    "the history pinned by a signed anchor is still there unchanged: this catches a history rewritten by "
    "someone who recomputed its chain.": (
        "Tính lại chuỗi băm lịch sử của từng khoản chi và báo mọi chỗ đứt. Với --anchor, kiểm tra thêm "
        "lịch sử đã được mốc ký xác nhận vẫn còn nguyên: phát hiện lịch sử bị viết lại kể cả khi chuỗi "
        "đã được tính lại."
    ),
    "an anchor file written by 'asxh-pay ledger anchor'": "tệp mốc do 'asxh-pay ledger anchor' ghi",
    "PEM public key of the anchor's signer": "khóa công khai PEM của người ký mốc",
    "Write every payout's chain head (of one run, or of the whole ledger) to a file signed with an Ed25519 "
    "key. Keep it away from the database (with the month's reports): 'asxh-pay ledger verify --anchor' "
    "then detects any later rewrite of that history.": (
        "Ghi đầu chuỗi của từng khoản chi (một đợt hoặc cả sổ cái) vào một tệp ký bằng khóa Ed25519. "
        "Lưu tệp cách xa cơ sở dữ liệu (cùng báo cáo tháng): 'asxh-pay ledger verify --anchor' sẽ phát "
        "hiện mọi lần viết lại lịch sử về sau."
    ),
    "anchor one run's payouts (default: all)": "ký mốc các khoản chi của một đợt (mặc định: tất cả)",
    "the signer's Ed25519 private key (PEM)": "khóa bí mật Ed25519 của người ký (PEM)",
    "name of the environment variable holding the key's password": (
        "tên biến môi trường chứa mật khẩu của khóa"
    ),
    "who signs (recorded in the anchor)": "người ký (ghi trong mốc)",
    "where to write the anchor": "nơi ghi tệp mốc",
    # sandbox
    "serve a provider sandbox over HTTP on localhost": "phục vụ môi trường thử nghiệm qua HTTP trên máy này",
    "Serve a stateful fake provider on 127.0.0.1 until Ctrl-C.": (
        "Chạy một đơn vị chi trả giả lập trên 127.0.0.1 cho đến khi nhấn Ctrl-C."
    ),
    "which provider's sandbox": "môi trường thử nghiệm của đơn vị chi trả nào",
    "TCP port on 127.0.0.1 (default: %(default)s)": "cổng TCP trên 127.0.0.1 (mặc định: %(default)s)",
    "delay every answer by this much": "làm chậm mỗi phản hồi một khoảng như vậy",
    "settle payments after this delay": "quyết toán khoản chi sau khoảng thời gian này",
    "rate (0..1) of each HTTP-level fault: 429, 5xx, timeouts before/after booking": (
        "tỷ lệ (0..1) của mỗi loại lỗi HTTP: 429, 5xx, quá thời gian trước/sau khi ghi nhận"
    ),
    "how long a timeout fault holds the answer (exceed the client's timeout)": (
        "thời gian giữ phản hồi khi giả lập quá thời gian (dài hơn thời gian chờ của máy khách)"
    ),
    "fault random seed": "hạt giống ngẫu nhiên cho lỗi giả lập",
    # scale-out
    "apply pending schema migrations": "áp dụng các thay đổi cấu trúc cơ sở dữ liệu còn chờ",
    "Apply the versioned SQL migrations not yet applied. Safe to run from several machines at once "
    "(PostgreSQL: an advisory lock serialises them).": (
        "Áp dụng các bản chuyển đổi SQL chưa áp dụng. Chạy đồng thời từ nhiều máy vẫn an toàn "
        "(PostgreSQL: khóa tư vấn xếp chúng lần lượt)."
    ),
    "ledger URL, e.g. postgresql://user@host:5432/db": "địa chỉ sổ cái, ví dụ postgresql://user@host:5432/db",
    "PostgreSQL schema holding the ledger (default: search_path)": (
        "schema PostgreSQL chứa sổ cái (mặc định: search_path)"
    ),
    "Load payout requests (JSON lines, one PayoutRequest per line) into the ledger. Loading the same list "
    "twice records nothing new.": (
        "Nạp lệnh chi (JSON lines, mỗi dòng một PayoutRequest) vào sổ cái. Nạp cùng danh sách hai lần "
        "không ghi thêm gì."
    ),
    "tag every payout with this run id": "gắn mã đợt chi này cho mọi khoản chi",
    "JSON lines of payout requests": "tệp JSON lines chứa lệnh chi",
    "N synthetic demo beneficiaries": "N đối tượng giả lập",
    "pay period for --synthetic": "kỳ chi trả cho --synthetic",
    "provider the workers pay through": "đơn vị chi trả mà các worker dùng",
    "Claim batches of unfinished payouts under a lease and pay them, until the run has none left (or "
    "forever with --follow). SIGTERM/SIGINT: finish in-flight payouts briefly, then hand the leases "
    "back.": (
        "Nhận từng lô khoản chi chưa xong (có thời hạn giữ) và chi trả, đến khi đợt chi hết khoản (hoặc "
        "mãi mãi với --follow). SIGTERM/SIGINT: hoàn tất nhanh các khoản đang chi rồi trả lại lô."
    ),
    "only payouts of this run": "chỉ các khoản chi của đợt này",
    "default: host:pid": "mặc định: host:pid",
    "payouts per claim (default: %(default)s)": "số khoản chi mỗi lần nhận (mặc định: %(default)s)",
    "lease length (default: %(default)s)": "thời hạn giữ lô (mặc định: %(default)s)",
    "keep waiting for new payouts": "tiếp tục chờ khoản chi mới",
    "on stop, time in-flight payouts get": "khi dừng, thời gian dành cho các khoản đang chi",
    "first status poll after acceptance": "lần hỏi trạng thái đầu tiên sau khi được chấp nhận",
    "first retry backoff ceiling": "thời gian chờ tối đa trước lần thử lại đầu tiên",
    "a function returning a list of ProviderSetup, or (list, Router)": (
        "hàm trả về danh sách ProviderSetup, hoặc (danh sách, Router)"
    ),
    "the generic JSON provider at this URL (e.g. a served sandbox)": (
        "đơn vị chi trả JSON chung tại địa chỉ này (ví dụ môi trường thử nghiệm đang chạy)"
    ),
    "an in-process sandbox (one process only)": "môi trường thử nghiệm trong tiến trình (chỉ một tiến trình)",
    "provider name (default: %(default)s)": "tên đơn vị chi trả (mặc định: %(default)s)",
    "HTTP timeout per request": "thời gian chờ HTTP mỗi yêu cầu",
    "in-process sandbox latency": "độ trễ của môi trường thử nghiệm trong tiến trình",
    "in-process sandbox fault rate per kind (0..1)": "tỷ lệ lỗi giả lập mỗi loại (0..1)",
    # configuration, serve, served sandboxes
    "POST the sandbox's signed callbacks to this URL (e.g. http://127.0.0.1:8000/callbacks/momo, served by "
    "'asxh-pay serve')": (
        "gửi các thông báo có chữ ký của môi trường thử nghiệm đến URL này (ví dụ "
        "http://127.0.0.1:8000/callbacks/momo, do 'asxh-pay serve' phục vụ)"
    ),
    "Run the callback endpoint of every configured rail (POST /callbacks/RAIL), /healthz, /readyz "
    "(the ledger answers) and /metrics (Prometheus) until Ctrl-C.": (
        "Chạy điểm nhận thông báo của mọi kênh đã cấu hình (POST /callbacks/KÊNH), /healthz, "
        "/readyz (sổ cái trả lời) và /metrics (Prometheus) cho đến khi nhấn Ctrl-C."
    ),
    "TCP port (default: %(default)s)": "cổng TCP (mặc định: %(default)s)",
    "address to bind (default: %(default)s)": "địa chỉ lắng nghe (mặc định: %(default)s)",
    "ledger URL (default: the configuration's, else the data folder's)": (
        "URL sổ cái (mặc định: theo cấu hình, nếu không thì trong thư mục dữ liệu)"
    ),
    "log lines as text or JSON (default: log_format of the configuration, else text)": (
        "dòng nhật ký dạng văn bản hoặc JSON (mặc định: log_format trong cấu hình, nếu không thì văn bản)"
    ),
    "print the effective configuration, secrets masked": "in cấu hình đang áp dụng, các bí mật được che",
    "register only: the sandbox register's SQLite file (default: %(default)s)": (
        "chỉ cho register: tệp SQLite của cơ sở dữ liệu dân cư thử nghiệm (mặc định: %(default)s)"
    ),
    "run every sandbox, the population register and 'asxh-pay serve' as separate processes over HTTP "
    "on 127.0.0.1, configured by a generated asxh-pay.toml (started and stopped by the demo)": (
        "chạy mọi môi trường thử nghiệm, cơ sở dữ liệu dân cư và 'asxh-pay serve' thành các "
        "tiến trình riêng qua HTTP trên 127.0.0.1, cấu hình bằng một tệp asxh-pay.toml được tạo "
        "ra (bản trình diễn tự khởi động và dừng chúng)"
    ),
    "serve the provider callbacks, health, readiness and metrics (ASGI, uvicorn)": (
        "phục vụ thông báo từ đơn vị chi trả, kiểm tra hoạt động, sẵn sàng và số liệu (ASGI, uvicorn)"
    ),
    "show or check the configuration (asxh-pay.toml)": "xem hoặc kiểm tra cấu hình (asxh-pay.toml)",
    "the configuration file": "tệp cấu hình",
    "the configuration file (default: $ASXH_PAY_CONFIG, else ./asxh-pay.toml, else the embedded sandboxes)": (
        "tệp cấu hình (mặc định: $ASXH_PAY_CONFIG, nếu không thì ./asxh-pay.toml, nếu không thì các môi "
        "trường thử nghiệm tích hợp)"
    ),
    "the configuration file asxh-pay.toml (default: $ASXH_PAY_CONFIG, else ./asxh-pay.toml if present, else "
    "the embedded sandboxes)": (
        "tệp cấu hình asxh-pay.toml (mặc định: $ASXH_PAY_CONFIG, nếu không thì ./asxh-pay.toml nếu có, nếu "
        "không thì các môi trường thử nghiệm tích hợp)"
    ),
    "the data folder": "thư mục dữ liệu",
    "validate the configuration and contact every rail and the register": (
        "kiểm tra cấu hình và liên hệ thử mọi kênh chi trả cùng cơ sở dữ liệu dân cư"
    ),
    "which provider's sandbox, or 'register': the population register's JSON API (docs/register.md)": (
        "môi trường thử nghiệm của đơn vị nào, hoặc 'register': API JSON của cơ sở dữ liệu dân cư "
        "(docs/register.md)"
    ),
}

# argparse's headings, set on each parser.
_HEADINGS_VI = {"positional arguments": "tham số", "options": "tùy chọn", "commands": "lệnh"}
_USAGE_VI = "cách dùng: "


def lang_from_argv(argv: Sequence[str] | None) -> str:
    """``en`` when asked for (``--lang en``, ``--lang=en`` or ``$ASXH_PAY_LANG=en``), else ``vi``."""
    args = list(argv or [])
    for i, a in enumerate(args):
        if a == "--lang" and i + 1 < len(args):
            return "en" if args[i + 1] == "en" else "vi"
        if a.startswith("--lang="):
            return "en" if a.split("=", 1)[1] == "en" else "vi"
    return "en" if os.environ.get("ASXH_PAY_LANG", "").lower().startswith("en") else "vi"


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                yield from _parsers(sub)


def help_strings(parser: argparse.ArgumentParser) -> Iterator[tuple[str, str]]:
    """(command path, English text) of every help line and description under ``parser``."""
    for p in _parsers(parser):
        if p.description:
            yield p.prog, p.description
        for action in p._actions:
            if action.help and action.help != argparse.SUPPRESS:
                yield p.prog, action.help
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    if choice.help:
                        yield p.prog, choice.help


class _VietnameseFormatter(argparse.HelpFormatter):
    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, _USAGE_VI if prefix is None else prefix)


def localise(parser: argparse.ArgumentParser, lang: str) -> argparse.ArgumentParser:
    """Rewrite ``parser`` and its subcommands for ``lang`` (nothing to do for English)."""
    if lang == "en":
        return parser
    for p in _parsers(parser):
        p.formatter_class = _VietnameseFormatter
        if p.description:
            p.description = HELP_VI.get(p.description, p.description)
        for group in p._action_groups:
            commands_only = bool(group._group_actions) and all(
                isinstance(a, argparse._SubParsersAction) for a in group._group_actions
            )
            if commands_only:
                group.title = _HEADINGS_VI["commands"]
            elif group.title in _HEADINGS_VI:
                group.title = _HEADINGS_VI[group.title]
        for action in p._actions:
            if action.help and action.help != argparse.SUPPRESS:
                action.help = HELP_VI.get(action.help, action.help)
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    if choice.help:
                        choice.help = HELP_VI.get(choice.help, choice.help)
    return parser
