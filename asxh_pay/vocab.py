"""One vocabulary, Vietnamese and English, for everything an official reads.

Why one module: the workbook the commune sends to the province, the CSV lists and the
console summary must use the same words for the same thing ("Chuyển chi tiền mặt" on
screen and in the report, not "paid in cash fallback" in one and a Vietnamese phrase in
the other). Every term is a pair ``(vi, en)``; Vietnamese is the default language and
English is asked for with ``lang="en"`` (``--lang en`` on the command line).

Tables:

* :data:`LABELS`: column headers and figure names of the reports;
* :data:`OUTCOMES`: what happened to an entitlement (paid, paid in cash, failed...);
* :data:`STATUSES`: a payout's ledger status;
* :data:`METHODS`: how the money is received;
* :data:`REASONS`: why a payout failed (:class:`~asxh_pay.status.FailureReason`) and why a
  list row was rejected or held (the import, register and account-check codes);
* :data:`PHRASES`: sentences of the console and the document (``str.format`` fields).

A key missing from a table falls back to the key itself, so a new code is shown raw
rather than hidden; :func:`missing` lists what lacks a translation (a test keeps it empty).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "LABELS",
    "LANGS",
    "METHODS",
    "OUTCOMES",
    "PHRASES",
    "REASONS",
    "STATUSES",
    "TABLES",
    "label",
    "method",
    "missing",
    "outcome",
    "phrase",
    "reason",
    "status",
    "target_met",
    "term",
]

LANGS = ("vi", "en")

Pair = tuple[str, str]

LABELS: dict[str, Pair] = {
    "level": ("Cấp", "Level"),
    "place": ("Mã đơn vị", "Unit code"),
    "place_name": ("Tên đơn vị", "Unit"),
    "province": ("Tỉnh", "Province"),
    "district": ("Huyện", "District"),
    "commune": ("Xã", "Commune"),
    "commune_name": ("Tên xã", "Commune name"),
    "programme": ("Chương trình", "Programme"),
    "agency": ("Cơ quan quản lý", "Responsible agency"),
    "method": ("Hình thức nhận", "Method"),
    "outcome": ("Kết quả", "Outcome"),
    "provider": ("Đơn vị chi trả", "Provider"),
    "status": ("Trạng thái", "Status"),
    "count": ("Số lượt", "Count"),
    "amount": ("Số tiền (đồng)", "Amount (VND)"),
    "beneficiaries": ("Số đối tượng", "Beneficiaries"),
    "amount_due": ("Tổng số tiền phải trả", "Amount due (VND)"),
    "paid": ("Đã chi trả", "Paid"),
    "paid_amount": ("Số tiền đã chi trả", "Amount paid (VND)"),
    "paid_account": ("Chi trả qua tài khoản", "Paid into an account"),
    "paid_fallback": ("Chuyển chi tiền mặt", "Paid in cash (fallback)"),
    "failed": ("Không chi trả được", "Failed"),
    "stopped": ("Dừng chi trả", "Stopped"),
    "pending": ("Đang xử lý", "Pending"),
    "account_share": ("Tỷ lệ qua tài khoản (%)", "Account share (%)"),
    "target": ("Chỉ tiêu (%)", "Target (%)"),
    "target_met": ("Đạt chỉ tiêu", "Target met"),
    "payout_id": ("Mã giao dịch", "Payout id"),
    "cccd": ("Số CCCD", "CCCD"),
    "full_name": ("Họ và tên", "Full name"),
    "recipient": ("Người nhận", "Recipient"),
    "reason": ("Lý do", "Reason"),
    "detail": ("Chi tiết", "Detail"),
    "fallback": ("Chuyển tiền mặt", "Cash fallback"),
    "payment_point": ("Điểm chi trả", "Payment point"),
    "address": ("Địa chỉ", "Address"),
    "source": ("Nguồn (danh sách:dòng)", "Source (list:row)"),
    "file": ("Tệp", "File"),
    "row": ("Dòng", "Row"),
    "column": ("Cột", "Column"),
    "code": ("Mã lỗi", "Code"),
    "period": ("Kỳ chi trả", "Period"),
    "run_id": ("Mã đợt chi", "Run id"),
    "figure": ("Chỉ tiêu báo cáo", "Figure"),
    "value": ("Giá trị", "Value"),
    "no": ("STT", "No."),
    "paid_twice": ("Chi trả trùng (cần thu hồi)", "Paid twice (to recover)"),
    "reference": ("Số tham chiếu", "Reference"),
    "fallback_reference": ("Số tham chiếu tiền mặt", "Cash fallback reference"),
    "signature_maker": ("NGƯỜI LẬP BIỂU", "PREPARED BY"),
    "signature_head": ("THỦ TRƯỞNG ĐƠN VỊ", "HEAD OF UNIT"),
    "signature_hint": ("(Ký, ghi rõ họ tên)", "(signature, full name)"),
    "signature_hint_seal": ("(Ký, đóng dấu, ghi rõ họ tên)", "(signature, seal, full name)"),
    "all_programmes": ("Tất cả", "All"),
    "subtotal": ("Cộng", "Subtotal"),
    "total": ("Tổng cộng", "Total"),
    "paying_unit": ("Đơn vị chi trả trợ cấp", "Paying unit"),
    # The preparation's unit mapping (pre-2025 codes to today's units).
    "listed_unit": ("Mã đơn vị trong danh sách", "Unit code as listed"),
    "old_unit": ("Đơn vị cũ (trước 1/7/2025)", "Former unit (before 1 July 2025)"),
    "mapping": ("Chuyển đổi", "Mapping"),
    "new_unit": ("Mã xã mới", "2025 commune code"),
    "unit_name": ("Tên xã mới", "2025 commune name"),
    "rows": ("Số dòng", "Rows"),
}

OUTCOMES: dict[str, Pair] = {
    "paid": ("Đã chi trả", "Paid"),
    "paid_fallback": ("Chuyển chi tiền mặt", "Paid in cash (fallback)"),
    "failed": ("Không chi trả được", "Failed"),
    "stopped": ("Dừng chi trả", "Stopped"),
    "pending": ("Đang xử lý", "Pending"),
}

STATUSES: dict[str, Pair] = {
    "created": ("Chưa gửi", "Created"),
    "submitted": ("Đã gửi", "Submitted"),
    "processing": ("Đang xử lý", "Processing"),
    "unknown": ("Chưa rõ kết quả", "Unknown"),
    "succeeded": ("Thành công", "Succeeded"),
    "failed": ("Thất bại", "Failed"),
    "cancelled": ("Đã dừng", "Cancelled"),
    "returned": ("Bị hoàn trả", "Returned"),
}

METHODS: dict[str, Pair] = {
    "bank": ("Tài khoản ngân hàng", "Bank account"),
    "wallet": ("Ví điện tử", "E-wallet"),
    "postal_account": ("Tài khoản bưu điện", "Postal account"),
    "cash_pickup": ("Tiền mặt tại điểm chi trả", "Cash at payment point"),
    "cash_home": ("Tiền mặt tại nhà", "Cash at home"),
}

REASONS: dict[str, Pair] = {
    # Why a payout failed (asxh_pay.status.FailureReason).
    "invalid_account": ("Tài khoản không hợp lệ", "Invalid account"),
    "account_closed": ("Tài khoản đã đóng", "Account closed"),
    "account_blocked": ("Tài khoản bị phong tỏa", "Account blocked"),
    "name_mismatch": ("Tên chủ tài khoản không khớp", "Account holder's name does not match"),
    "receiver_not_verified": ("Người nhận chưa được xác thực", "Receiver not verified"),
    "no_account": ("Không có tài khoản", "No account"),
    "limit_exceeded": ("Vượt hạn mức", "Limit exceeded"),
    "amount_invalid": ("Số tiền không hợp lệ", "Invalid amount"),
    "insufficient_funds": ("Không đủ kinh phí", "Insufficient funds"),
    "duplicate": ("Trùng lặp", "Duplicate"),
    "rejected_by_provider": ("Đơn vị chi trả từ chối", "Rejected by the provider"),
    "regulatory": ("Vướng quy định pháp lý", "Regulatory"),
    "beneficiary_deceased": ("Đối tượng đã chết", "Beneficiary deceased"),
    "not_collected": ("Không đến nhận", "Not collected"),
    "delivery_failed": ("Không chi trả được tại nhà", "Home delivery failed"),
    "identity_check_failed": ("Không xác thực được danh tính", "Identity check failed"),
    "authorisation_invalid": ("Giấy ủy quyền không hợp lệ", "Authorisation invalid"),
    "returned_by_bank": ("Ngân hàng hoàn trả", "Returned by the bank"),
    "cancelled_by_operator": ("Cán bộ hủy lệnh", "Cancelled by the operator"),
    "deadline_exceeded": ("Quá hạn chi trả", "Deadline exceeded"),
    "technical": ("Lỗi kỹ thuật", "Technical error"),
    "unknown": ("Chưa rõ nguyên nhân", "Unknown"),
    # Why a list row was rejected (fix the list).
    "required": ("Thiếu thông tin bắt buộc", "Required value missing"),
    "invalid": ("Giá trị không hợp lệ", "Invalid value"),
    "account_format": ("Số tài khoản sai định dạng", "Account number malformed"),
    "admin_code": ("Mã đơn vị hành chính không hợp lệ", "Invalid administrative code"),
    "admin_code_format": ("Mã đơn vị hành chính sai định dạng", "Administrative code malformed"),
    "amount_format": ("Số tiền sai định dạng", "Amount malformed"),
    "amount_fractional": ("Số tiền có phần lẻ (đồng phải là số nguyên)", "Fractional amount"),
    "amount_not_positive": ("Số tiền không dương", "Amount not positive"),
    "amount_over_ceiling": ("Số tiền vượt mức trần", "Amount over the ceiling"),
    "bank_bin_format": ("Mã BIN ngân hàng sai định dạng", "Bank BIN malformed"),
    "bank_bin_unknown": ("Mã BIN ngân hàng không tồn tại", "Unknown bank BIN"),
    "bank_unknown": ("Không nhận ra ngân hàng", "Unknown bank"),
    "cccd_birth_mismatch": ("Số CCCD không khớp năm sinh, giới tính", "CCCD does not match the birth date"),
    "cccd_birth_year": ("Số CCCD sai năm sinh", "CCCD birth year wrong"),
    "cccd_is_cmnd": ("Là số CMND cũ, cần số CCCD 12 chữ số", "An old CMND, not a 12-digit CCCD"),
    "cccd_length": ("Số CCCD không đủ 12 chữ số", "CCCD is not 12 digits"),
    "cccd_not_digits": ("Số CCCD có ký tự không phải chữ số", "CCCD has non-digits"),
    "cccd_province": ("Mã tỉnh trong số CCCD không tồn tại", "CCCD province code unknown"),
    "csv_malformed": ("Tệp CSV bị hỏng", "Malformed CSV"),
    "date_format": ("Ngày sai định dạng (dd/mm/yyyy)", "Date not dd/mm/yyyy"),
    "encoding": ("Sai bảng mã tệp", "Wrong file encoding"),
    "encoding_unknown": ("Không nhận ra bảng mã tệp", "Unknown file encoding"),
    "file_too_large": ("Tệp quá lớn", "File too large"),
    "file_type": ("Loại tệp không được hỗ trợ", "Unsupported file type"),
    "file_unreadable": ("Không đọc được tệp", "File unreadable"),
    "xlsx_unreadable": ("Không mở được tệp Excel", "Excel file unreadable"),
    "xls_unreadable": ("Không mở được tệp Excel cũ (.xls)", "Old Excel file (.xls) unreadable"),
    "future": ("Ngày ở tương lai", "Date in the future"),
    "holder_name_length": ("Tên chủ tài khoản quá dài", "Holder name too long"),
    "name_invalid": ("Họ tên không hợp lệ", "Invalid name"),
    "period": ("Kỳ chi trả không hợp lệ", "Invalid pay period"),
    "phone_format": ("Số điện thoại sai định dạng", "Phone number malformed"),
    "phone_prefix": ("Đầu số điện thoại không tồn tại", "Unknown phone prefix"),
    "programme": ("Mã chương trình không hợp lệ", "Invalid programme code"),
    "recipient_incomplete": ("Thiếu thông tin người nhận thay", "Authorised person's details incomplete"),
    "recipient_self_with_identity": (
        "Tự nhận nhưng có ghi người nhận thay",
        "Self payment with an authorised person's details",
    ),
    "excel_number": ("Excel đã đổi ô này thành số (mất định dạng)", "Excel turned the cell into a number"),
    "excel_scientific": (
        "Excel đã đổi số thành dạng khoa học (ví dụ 4.01245E+11): nhập lại dạng văn bản",
        "Excel wrote the number in scientific form (e.g. 4.01245E+11): re-enter it as text",
    ),
    "leading_zero_lost": ("Mất số 0 ở đầu (Excel)", "Leading zero lost (Excel)"),
    "method_unknown": ("Không nhận ra hình thức nhận", "Unknown payment method"),
    "period_mismatch": ("Dòng thuộc kỳ chi trả khác", "Row is for another pay period"),
    "programme_mismatch": ("Dòng thuộc chương trình khác", "Row is for another programme"),
    "wallet_provider_unknown": ("Không nhận ra ví điện tử", "Unknown e-wallet provider"),
    "narrative_max_len": ("Nội dung quá dài", "Text too long"),
    "unknown_run": ("Không có đợt chi này", "No such run"),
    "idempotency_key": ("Khóa chống chi trùng không hợp lệ", "Invalid idempotency key"),
    "missing_key": ("Thiếu khóa của cán bộ", "Operator key missing"),
    "ledger_not_found": ("Không tìm thấy sổ cái", "Ledger not found"),
    "programmes_file": ("Tệp khai báo chương trình không hợp lệ", "Invalid programmes file"),
    # Why a row was held (a person decides).
    "duplicate_conflict": ("Trùng đối tượng, thông tin mâu thuẫn", "Duplicates that disagree"),
    "no_rail": ("Không có đơn vị chi trả phù hợp", "No provider can pay this method"),
    "beneficiary_not_found": ("Không có trong CSDL quốc gia về dân cư", "Not in the population register"),
    "recipient_not_found": (
        "Người nhận thay không có trong CSDL quốc gia về dân cư",
        "Authorised person not in the population register",
    ),
    "recipient_deceased": ("Người nhận thay đã chết", "Authorised person deceased"),
    "beneficiary_birth_date_mismatch": (
        "Ngày sinh không khớp CSDL dân cư",
        "Birth date differs from the register",
    ),
    "recipient_birth_date_mismatch": (
        "Ngày sinh người nhận thay không khớp CSDL dân cư",
        "Authorised person's birth date differs from the register",
    ),
    "beneficiary_name_mismatch": ("Họ tên không khớp CSDL dân cư", "Name differs from the register"),
    "recipient_name_mismatch": (
        "Họ tên người nhận thay không khớp CSDL dân cư",
        "Authorised person's name differs from the register",
    ),
    "entitlement_stopped": ("Đã thôi hưởng trợ cấp", "Entitlement ended"),
    "recipient_is_beneficiary": (
        "Người nhận thay chính là đối tượng",
        "Authorised person is the beneficiary",
    ),
    "authorisation_expired": ("Giấy ủy quyền đã hết hạn", "Authorisation expired"),
    "account_not_found": ("Tài khoản không tồn tại", "Account not found"),
    "account_owner_mismatch": ("Chủ tài khoản không phải người nhận", "Account holder is someone else"),
    "account_owner_reordered": ("Tên chủ tài khoản bị đảo thứ tự", "Account holder's name reordered"),
    "already_in_ledger": ("Đã chi trả trong kỳ này", "Already paid this period"),
    "conflicts_with_ledger": ("Mâu thuẫn với khoản đã ghi sổ", "Conflicts with the ledger"),
    "beneficiary_and_recipient": ("Vừa là đối tượng vừa nhận thay", "Both beneficiary and recipient"),
    # Why a run cannot be prepared (prepare stops before writing anything).
    "run_id": ("Mã đợt chi không hợp lệ", "Invalid run id"),
    "no_key": ("Cán bộ chưa có khóa", "The operator has no key"),
    "key": ("Khóa của cán bộ không hợp lệ", "The operator's key is not valid"),
    "operator": ("Tên cán bộ không hợp lệ", "Invalid operator name"),
    "no_file": ("Không tìm thấy tệp danh sách", "No such list file"),
    "empty": ("Danh sách không có đối tượng nào", "The lists have no beneficiary"),
    "all_rejected": ("Mọi dòng đều bị loại", "Every row was rejected"),
    "district": ("Không còn cấp huyện", "Districts no longer exist"),
    "unit_mismatch": ("Xã không thuộc tỉnh đã ghi", "Commune not in the given province"),
    # Placement in today's (2025) units.
    "unit_split": (
        "Xã cũ đã chia cho nhiều xã mới: cần xác định xã mới",
        "Former commune split between new communes: a person decides",
    ),
    "unit_unknown": ("Mã đơn vị hành chính không tồn tại", "Unknown administrative unit"),
    "unit_district_mismatch": (
        "Mã xã không thuộc huyện cũ đã ghi",
        "Commune not in the listed former district",
    ),
    "unit_outside": ("Xã không thuộc đơn vị chi trả", "Commune outside the paying unit"),
    "unit_required": ("Chưa xác định đơn vị chi trả", "Paying unit not given"),
    "programme_unknown": ("Chương trình chưa được khai báo", "Unknown programme"),
}

PHRASES: dict[str, Pair] = {
    # The document.
    "nation": ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "SOCIALIST REPUBLIC OF VIETNAM"),
    "motto": ("Độc lập - Tự do - Hạnh phúc", "Independence - Freedom - Happiness"),
    "report_title": ("BÁO CÁO", "REPORT"),
    "report_subtitle": (
        "Kết quả chi trả trợ cấp xã hội không dùng tiền mặt kỳ {period}",
        "Cashless payment of social benefits, pay period {period}",
    ),
    "place_date": ("........., ngày ..... tháng ..... năm {year}", "........., date ..... {year}"),
    "unit_line": ("UBND {name}", "People's Committee of {name}"),
    "sheet_cover": ("Báo cáo", "Report"),
    "sheet_summary": ("Tổng hợp", "Summary"),
    "sheet_method": ("Theo hình thức", "By method"),
    "sheet_provider": ("Theo đơn vị chi trả", "By provider"),
    "sheet_share": ("Tỷ lệ tài khoản", "Account share"),
    "sheet_failures": ("Danh sách không chi trả được", "Failed payouts"),
    "sheet_cash": ("Danh sách chi trả tiền mặt", "Cash list"),
    "sheet_paid_twice": ("Chi trả trùng", "Paid twice"),
    "title_paid_twice": (
        "Chi trả trùng: giao dịch điện tử thành công muộn sau khi đã chi tiền mặt (cần thu hồi một khoản)",
        "Paid twice: the electronic payout succeeded late, after its cash fallback left (recover one)",
    ),
    "paid_twice_line": (
        "  CHI TRẢ TRÙNG: khoản {payout} (tham chiếu {reference}) thành công sau khi khoản tiền mặt "
        "{fallback} (tham chiếu {fallback_reference}, {fallback_status}) đã chi; cần thu hồi một khoản",
        "  PAID TWICE: payout {payout} (ref {reference}) delivered after its cash fallback {fallback} "
        "(ref {fallback_reference}, {fallback_status}) left; recover one",
    ),
    "title_summary": ("Tổng hợp kết quả chi trả theo xã và chương trình", "Results by commune and programme"),
    "title_method": ("Kết quả theo hình thức nhận", "Results by method"),
    "title_provider": ("Kết quả theo đơn vị chi trả", "Results by provider"),
    "title_share": (
        "Tỷ lệ chi trả qua tài khoản so với chỉ tiêu {target}%",
        "Share paid into an account against the {target}% target",
    ),
    "title_failures": (
        "Danh sách khoản chi không thành công (đã che thông tin cá nhân)",
        "Payouts that did not succeed (personal data masked)",
    ),
    "title_cash": (
        "Danh sách chi trả tiền mặt - chỉ gửi đơn vị bưu điện",
        "Cash payment list - for the postal service only",
    ),
    "chart_title": ("Tỷ lệ qua tài khoản theo xã (%)", "Account share by commune (%)"),
    "chart_target": ("Chỉ tiêu {target}%", "Target {target}%"),
    "yes": ("Đạt", "Met"),
    "no": ("Không đạt", "Not met"),
    "page_footer": ("Trang &P / &N", "Page &P of &N"),
    # The console.
    "prepared_head": ("Đợt chi {run_id} đã lập tại {dir}", "run {run_id} prepared in {dir}"),
    "rows_read": ("Số dòng đã đọc", "rows read"),
    "rows_read_file": ("{file:<40} {rows:>8} dòng đã đọc", "{file:<40} {rows:>8} rows read"),
    "rows_rejected": ("Số dòng bị loại", "rejected rows"),
    "duplicates_merged": ("Số dòng trùng đã gộp", "duplicates merged"),
    "held": ("Số dòng tạm giữ", "held"),
    "warnings": ("Số cảnh báo", "warnings"),
    "payouts": ("Số khoản chi", "payouts"),
    "total": ("Tổng tiền", "total"),
    "top_reasons": ("Lý do thường gặp", "top reasons"),
    "paying_unit_line": ("Đơn vị chi trả: {name} ({code}){where}", "paying unit: {name} ({code}){where}"),
    "paying_centrally": (", chi trả tập trung", ", paying centrally"),
    "from_lists": (" (xác định theo danh sách)", " (from the lists)"),
    "old_coded": (
        "Danh sách theo mã đơn vị cũ (trước 2025): {files}: {counts} (xem {path})",
        "lists in pre-2025 codes: {files}: {counts} (see {path})",
    ),
    "rows_status": ("{n} dòng {status}", "{n} rows {status}"),
    "mapping_line": (
        "{listed:<12} {status:<24} {n:>5} dòng -> {code} {name}",
        "{listed:<12} {status:<24} {n:>5} rows -> {code} {name}",
    ),
    "rejected_top": (
        "Dòng bị loại, lý do thường gặp (rejected.csv)",
        "rejected rows, top reasons (rejected.csv)",
    ),
    "held_top": ("Dòng tạm giữ, lý do thường gặp (held.csv)", "held rows, top reasons (held.csv)"),
    "next_approve": (
        "Bước tiếp theo: một cán bộ khác phê duyệt: asxh-pay approve {run_id} --operator TÊN",
        "next: another operator approves it: asxh-pay approve {run_id} --operator NAME",
    ),
    "approved": (
        "Đợt chi {run_id} đã được {operator} phê duyệt: {payouts} khoản chi, {amount}",
        "run {run_id} approved by {operator}: {payouts} payouts, {amount}",
    ),
    "next_run": ("Bước tiếp theo: asxh-pay run {run_id}", "next: asxh-pay run {run_id}"),
    "run_head": (
        "Đợt chi {run_id}: {n} đối tượng trong {seconds} giây",
        "run {run_id}: {n} beneficiaries in {seconds}s",
    ),
    "resumed": ("({n} khoản tiếp tục từ lần trước)", "({n} resumed)"),
    "amount_paid": ("Số tiền đã chi trả", "amount paid"),
    "account_share_line": (
        "{n} ({share}%, chỉ tiêu {target}%: {met})",
        "{n} ({share}%, target {target}%: {met})",
    ),
    "reports_in": ("Báo cáo", "reports"),
    "errors": ("Lỗi: {n} (lỗi đầu tiên: {first})", "errors: {n} (first: {first})"),
    "reports_for": ("Báo cáo của đợt chi {run_id}:", "reports for {run_id}:"),
    "monthly_report": ("Báo cáo tháng gửi tỉnh", "monthly report for the province"),
    "detail_lists": ("Danh sách chi tiết", "detail lists"),
    "recon_ok": ("Đối chiếu KHỚP", "reconciliation OK"),
    "recon_breaks": ("Đối chiếu CÓ CHÊNH LỆCH", "reconciliation BREAKS FOUND"),
    "recon_counts": (
        "{checked} khoản đã đối chiếu, {matched} khớp, {pending} đang xử lý, {breaks} chênh lệch",
        "{checked} payouts checked, {matched} matched, {pending} pending, {breaks} breaks",
    ),
    "recon_files": (
        "Đã đối chiếu {payouts} khoản chi với {files} tệp ({entries} bút toán, {statuses} trạng thái)",
        "reconciled {payouts} payouts against {files} files ({entries} entries, {statuses} statuses)",
    ),
    "recon_not_reconciled": (
        "Chưa đối chiếu (chưa có báo cáo của đơn vị chi trả): {names}",
        "not reconciled (no provider report yet): {names}",
    ),
    "recon_unexplained": ("Chênh lệch chưa giải thích được: {n}", "unexplained breaks: {n}"),
    "recon_demo": (
        "Đối chiếu với báo cáo đối soát của các đơn vị chi trả: {verdict} "
        "({matched} khớp, {breaks} chênh lệch)",
        "reconciliation with the providers' reports: {verdict} ({matched} matched, {breaks} breaks)",
    ),
    "progress_prepare": ("Đang lập danh sách", "preparing"),
    "progress_pay": ("Đang chi trả", "paying"),
    "progress_close": ("Đang khóa sổ tháng", "month close"),
    "progress_reconcile": ("Đang đối chiếu", "reconciling"),
    "progress_reports": ("Đang lập báo cáo", "writing reports"),
    "prepare_interrupted": (
        "Đã dừng: chưa lập đợt chi nào (không có thư mục đợt chi)",
        "interrupted: nothing was prepared (no run folder)",
    ),
    "progress_import": ("Đang đọc danh sách", "reading lists"),
    "rows_word": ("dòng", "rows"),
    "interrupted": (
        "Đã dừng: sổ cái vẫn nhất quán; chạy lại với --resume để tiếp tục",
        "interrupted: the ledger is consistent; run again with --resume to continue",
    ),
    "error": ("Lỗi", "error"),
    "refused": ("Bị từ chối", "refused"),
    "key_generated": (
        "Khóa của cán bộ {operator}:\n  khóa bí mật (tự giữ, không chia sẻ): {private}\n"
        "  khóa công khai: {public}\n"
        "Chưa được tin cậy: một cán bộ khác (hoặc khóa văn phòng) ghi danh khóa này bằng\n"
        "  asxh-pay keys enroll --operator {operator} --public-key {public} --signed-by TÊN",
        "key for operator {operator}:\n  private (keep it to yourself): {private}\n"
        "  public: {public}\n"
        "not trusted yet: another operator (or the office) enrolls it with\n"
        "  asxh-pay keys enroll --operator {operator} --public-key {public} --signed-by NAME",
    ),
    "office_key_created": (
        "Đã tạo khóa văn phòng: {path} (vân tay {fingerprint})\n"
        "  giữ khóa này ngoài máy của cán bộ (thủ trưởng đơn vị, USB cất trong két):\n"
        "  khóa dùng để ghi danh, thay và thu hồi khóa của cán bộ.\n"
        "  ghim trên mọi máy: {pin}",
        "office key created: {path} (fingerprint {fingerprint})\n"
        "  keep it off the operators' machines (the head of office, a USB stick in the safe):\n"
        "  it enrolls, replaces and revokes operator keys.\n"
        "  pin it on every machine: {pin}",
    ),
    "roster_enroll": (
        "Đã ghi danh {operator} (mục {seq} của danh bạ khóa, người ký {signed_by})",
        "{operator} enrolled (roster entry {seq}, signed by {signed_by})",
    ),
    "roster_replace": (
        "Đã thay khóa của {operator} (mục {seq} của danh bạ khóa, người ký {signed_by})",
        "{operator} key replaced (roster entry {seq}, signed by {signed_by})",
    ),
    "roster_revoke": (
        "Đã thu hồi khóa của {operator} (mục {seq} của danh bạ khóa, người ký {signed_by})",
        "{operator} revoked (roster entry {seq}, signed by {signed_by})",
    ),
    "roster_head": (
        "Danh bạ khóa {path}: {entries} mục, đã kiểm tra; khóa văn phòng {fingerprint}",
        "roster {path}: {entries} entries, verified; office key {fingerprint}",
    ),
    "ledger_ok": (
        "Sổ cái TOÀN VẸN: đã kiểm tra {payouts} khoản chi, {events} sự kiện",
        "ledger OK: {payouts} payouts, {events} events checked",
    ),
    "ledger_broken": (
        "Sổ cái BỊ SỬA ĐỔI: đã kiểm tra {payouts} khoản chi, {events} sự kiện",
        "ledger BROKEN: {payouts} payouts, {events} events checked",
    ),
    "anchor_checked": (
        "Mốc ký ngày {taken_at} của {operator} ({fingerprint}): {payouts} khoản chi đã kiểm tra, {grown} có "
        "sự kiện mới hơn, {problems} bị viết lại hoặc mất",
        "anchor of {taken_at} signed by {operator} ({fingerprint}): {payouts} payouts checked, {grown} with "
        "later events, {problems} rewritten or missing",
    ),
    "roster_checked": (
        "Danh bạ khóa cán bộ: {entries} mục, khóa văn phòng {fingerprint}",
        "operator roster: {entries} entries, office key {fingerprint}",
    ),
    "more_problems": (
        "  ... và {n} lỗi khác (--json liệt kê đủ)",
        "  ... and {n} more (--json lists them all)",
    ),
    "anchor_written": (
        "Đã ký mốc {payouts} khoản chi ({events} sự kiện) vào {path}\n"
        "  gốc {root}; lưu tệp này cách xa cơ sở dữ liệu",
        "anchored {payouts} payouts ({events} events) in {path}\n"
        "  root {root}; keep this file away from the database",
    ),
    "roster_trusted": ("tin cậy", "trusted"),
    "roster_revoked": ("đã thu hồi", "revoked"),
    "roster_by": ("bởi {by}", "by {by}"),
    "state_approved": ("đã phê duyệt", "approved"),
    "state_prepared": ("đã lập (chưa phê duyệt)", "prepared (not approved)"),
    "state_paid": ("đã chi trả xong", "paid"),
    "state_in_progress": ("đang chi trả", "in progress"),
    "status_line": (
        "{run_id}: {state}; {payouts} khoản chi, {amount}; ",
        "{run_id}: {state}; {payouts} payouts, {amount}; ",
    ),
    "nothing_in_ledger": ("chưa có gì trong sổ cái", "nothing in the ledger"),
    "no_runs": ("Chưa có đợt chi nào trong {dir}", "no runs in {dir}"),
    "death_recorded": (
        "Đã ghi nhận báo tử; đợt chi sẽ dừng các khoản chi của đối tượng này trước khi gửi",
        "death recorded; a run will stop this beneficiary's payouts before sending",
    ),
    "no_such_cccd": ("Không có số CCCD này trong CSDL thử nghiệm", "no such CCCD in the sandbox register"),
    "entitlement_ended": (
        "Đã chấm dứt hưởng {programme} cho số CCCD này",
        "entitlement to {programme} ended for this CCCD",
    ),
    "register_seeded": (
        "CSDL thử nghiệm: đã thêm {n} người từ danh sách",
        "sandbox register: {n} people added from the lists",
    ),
    "anchored": (
        "  Đã ký mốc lịch sử sổ cái ({payouts} khoản chi, người ký {operator}): {path}\n"
        "    kiểm tra lại sau bằng: {command}",
        "  ledger history anchored ({payouts} payouts, signed by {operator}): {path}\n"
        "    check it later with: {command}",
    ),
    "demo_province": (
        "Tỉnh chạy thử trong {dir}: {unit}, {n} xã",
        "demo province in {dir}: {unit}, {n} communes",
    ),
    "demo_lists": (
        "  Đã ghi {files} danh sách của các xã ({n} đối tượng NCC, BTXH và HTXH, {bad} dòng sai, "
        "{dup} dòng trùng, {conflicts} dòng mâu thuẫn; {old} dòng theo mã đơn vị cũ)",
        "  {files} commune lists written ({n} beneficiaries of NCC, BTXH and HTXH, {bad} bad rows, "
        "{dup} duplicates, {conflicts} conflicting; {old} rows in pre-2025 codes)",
    ),
    "demo_approved": (
        "  Đã được {checker} phê duyệt (người lập: {maker})",
        "  approved by {checker} (prepared by {maker})",
    ),
    "demo_deaths": (
        "  {n} trường hợp báo tử được ghi vào CSDL dân cư sau khi lập danh sách",
        "  {n} deaths recorded in the register after preparation",
    ),
    "demo_rejected": (
        "  Dòng bị loại/tạm giữ gửi lại các xã: {rejected}, {held}",
        "  rejected/held rows for the communes: {rejected}, {held}",
    ),
    "demo_done": (
        "Chạy thử xong trong {seconds} giây; xem lại bằng: asxh-pay status --data-dir {dir}",
        "demo finished in {seconds}s; inspect it with: asxh-pay status --data-dir {dir}",
    ),
    "demo_min": ("--beneficiaries phải từ 10 trở lên", "--beneficiaries must be at least 10"),
    "recon_ok_short": ("KHỚP", "OK"),
    "recon_breaks_short": ("CÓ CHÊNH LỆCH", "BREAKS"),
}

BREAKS: dict[str, Pair] = {
    # Reconciliation: what the ledger and the providers' books or the bank's statements disagree on.
    "matched": ("Khớp", "Matched"),
    "not_paid": ("Không chi (khớp)", "Not paid (agrees)"),
    "in_flight": ("Đang xử lý", "In flight"),
    "ledger_behind": ("Sổ cái chưa cập nhật", "Ledger behind"),
    "late_return": ("Hoàn trả muộn", "Late return"),
    "missing_on_statement": ("Không có trên sao kê", "Missing on the statement"),
    "unknown_on_statement": ("Sao kê có khoản lạ", "Unknown on the statement"),
    "duplicate_debit": ("Ghi nợ trùng", "Duplicate debit"),
    "amount_mismatch": ("Lệch số tiền", "Amount mismatch"),
    "status_disagreement": ("Lệch trạng thái", "Status disagreement"),
    "status_mismatch": ("Lệch trạng thái", "Status mismatch"),
    "unknown_report": ("Báo cáo trạng thái không khớp khoản nào", "Unknown status report"),
    "return_mismatch": ("Hoàn trả không khớp", "Return mismatch"),
    "wrong_rail": ("Sai kênh chi trả", "Wrong rail"),
    "unexplained_credit": ("Ghi có không rõ nguồn", "Unexplained credit"),
    "file_rejected": ("Tệp bị từ chối", "File rejected"),
    "paid_twice": ("Chi trả trùng (cần thu hồi)", "Paid twice (to recover)"),
    "unknown_to_ledger": ("Sổ cái không có khoản này", "Unknown to the ledger"),
    "paid_but_ledger_not_sent": ("Đã chi nhưng sổ cái ghi chưa gửi", "Paid, ledger says not sent"),
    "ledger_succeeded_not_at_provider": (
        "Sổ cái ghi thành công, đơn vị chi trả không có",
        "Ledger succeeded, not at the provider",
    ),
    "paid_but_ledger_not_succeeded": (
        "Đơn vị đã chi, sổ cái ghi không thành công",
        "Paid, ledger says not succeeded",
    ),
}

RAILS: dict[str, Pair] = {
    "cash": ("tiền mặt", "cash"),
    "bank": ("ngân hàng", "bank"),
}

MAPPINGS: dict[str, Pair] = {
    "mapped": ("đã chuyển sang xã mới", "mapped"),
    "split": ("tạm giữ (xã cũ bị chia)", "held (commune split)"),
    "unknown": ("không tìm thấy", "unknown"),
    "district_mismatch": ("không thuộc huyện cũ", "not in the district"),
}

TABLES: dict[str, dict[str, Pair]] = {
    "labels": LABELS,
    "outcomes": OUTCOMES,
    "statuses": STATUSES,
    "methods": METHODS,
    "reasons": REASONS,
    "phrases": PHRASES,
    "mappings": MAPPINGS,
    "rails": RAILS,
    "breaks": BREAKS,
}


def _pick(pair: Pair | None, key: str, lang: str) -> str:
    if pair is None:
        return key
    return pair[1] if lang == "en" else pair[0]


def term(table: Mapping[str, Pair], key: str, lang: str = "vi") -> str:
    """``key`` in ``lang`` from ``table``; the key itself when the table does not know it."""
    return _pick(table.get(key), key, lang)


def label(key: str, lang: str = "vi") -> str:
    return term(LABELS, key, lang)


def outcome(key: str, lang: str = "vi") -> str:
    return term(OUTCOMES, key, lang)


def status(key: str, lang: str = "vi") -> str:
    return term(STATUSES, key, lang)


def method(key: str, lang: str = "vi") -> str:
    return term(METHODS, key, lang)


def reason(code: str, lang: str = "vi") -> str:
    return term(REASONS, code, lang)


def phrase(key: str, lang: str = "vi", **fields: Any) -> str:
    text = term(PHRASES, key, lang)
    return text.format(**fields) if fields else text


def target_met(met: bool, lang: str = "vi") -> str:
    """ "Đạt"/"Không đạt" (never True/False in a document)."""
    return phrase("yes" if met else "no", lang)


def missing() -> list[str]:
    """Every ``table.key`` lacking a Vietnamese or English text (a test keeps it empty)."""
    return [
        f"{name}.{key}"
        for name, table in TABLES.items()
        for key, pair in table.items()
        if len(pair) != 2 or not all(isinstance(s, str) and s.strip() for s in pair)
    ]
