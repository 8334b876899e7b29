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

import json
from collections.abc import Mapping
from datetime import date
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

# =========================================================================== row-level details
# Issue 17 (branch h17rows): the detail of every reason a list row is rejected, held or warned
# about, as a template per language. Keys are "<code>" or "<code>.<variant>", the code being the
# row's machine code (a key of REASONS); keys starting with "_" are fragments nested in another
# detail. Fields are filled from a Detail's parameters; a spec after ":" formats per language:
# date (dd/mm/yyyy in Vietnamese), period (MM/YYYY), vnd / vnds (750.000 ₫ / ...), list / and
# (joined), field / Field (a column in words), method, status, match (how two names compare).
# The English texts are the checker's words as they were before the vocabulary had them.

REASONS.update(
    {
        "no_header": ("Không tìm thấy dòng tiêu đề", "No header row"),
        "duplicate_column": ("Hai cột trùng nghĩa", "Two columns mean the same"),
        "method_inferred": ("Hình thức nhận suy ra từ các cột đã ghi", "Payment method inferred"),
        "account_not_verified": ("Chưa kiểm tra được tài khoản", "Account not verified"),
        "string_too_long": ("Nội dung quá dài", "Text too long"),
        "string_too_short": ("Nội dung quá ngắn", "Text too short"),
    }
)

#: A list column in words, inside a detail (``{column:field}``, ``{column:Field}`` to start a sentence).
FIELDS: dict[str, Pair] = {
    "cccd": ("số CCCD", "CCCD"),
    "recipient_cccd": ("số CCCD của người nhận thay", "CCCD"),
    "account_number": ("số tài khoản", "account number"),
    "phone": ("số điện thoại", "phone number"),
    "full_name": ("họ tên", "full_name"),
    "authorisation_ref": ("giấy ủy quyền", "authorisation_ref"),
}

#: How a name on the list compares with another (:class:`asxh_pay.identity.NameMatch`).
NAME_MATCHES: dict[str, Pair] = {
    "exact": ("trùng khớp", "exact"),
    "folded": ("khớp khi bỏ dấu", "folded"),
    "reordered": ("đảo thứ tự các từ", "reordered"),
    "near": ("gần giống", "near"),
    "mismatch": ("khác nhau", "mismatch"),
}

#: Who receives on the beneficiary's behalf (:class:`asxh_pay.models.RecipientKind`).
RECIPIENT_KINDS: dict[str, Pair] = {
    "self": ("đối tượng tự nhận", "self"),
    "authorised": ("người được ủy quyền", "authorised"),
    "guardian": ("người giám hộ", "guardian"),
}

_TEXT = "định dạng cột là Văn bản (Text) rồi nhập lại"

DETAILS: dict[str, Pair] = {
    # -- the file as a whole (asxh_pay.payroll.lists)
    "encoding": ("Tệp không đúng bảng mã {encoding} ({error})", "file is not valid {encoding}: {error}"),
    "encoding.bom": (
        "Tệp có ký hiệu UTF-8 (BOM) ở đầu nhưng nội dung không đúng bảng mã UTF-8",
        "file starts with a UTF-8 mark but is not valid UTF-8",
    ),
    "encoding.utf16": ("Tệp không đúng bảng mã UTF-16", "file is not valid UTF-16"),
    "encoding_unknown": (
        "Không nhận ra bảng mã của tệp (không phải UTF-8, UTF-16 hay Windows-1258 tiếng Việt): lưu lại "
        "tệp dạng 'CSV UTF-8' hoặc ghi rõ bảng mã bằng --encoding",
        "file encoding not recognised (not UTF-8, UTF-16 or Windows-1258 Vietnamese): save it as "
        "'CSV UTF-8' or give --encoding",
    ),
    "file_too_large": (
        "Tệp lớn hơn {mib} MiB: không phải danh sách chi trả của một xã",
        "file larger than {mib} MiB: not a commune list",
    ),
    "csv_malformed": ("Tệp CSV bị hỏng ở dòng {line} ({error})", "malformed CSV at line {line}: {error}"),
    "xlsx_unreadable": ("Không mở được tệp Excel ({error})", "cannot open the Excel file ({error})"),
    "xls_unreadable": (
        "Không mở được tệp Excel 97-2003 ({error})",
        "cannot open the Excel 97-2003 file ({error})",
    ),
    "file_type": (
        "Không hỗ trợ loại tệp “{suffix}” (dùng tệp .csv, .xlsx hoặc .xls)",
        "unsupported list file type {suffix!r} (use .csv, .xlsx or .xls)",
    ),
    "file_unreadable": ("Không đọc được tệp: {error}", "cannot read file: {error}"),
    "no_header": (
        "Không tìm thấy dòng tiêu đề có cột họ tên và cột số CCCD",
        "no header row with a name and a CCCD column was found",
    ),
    "duplicate_column": (
        "Có hai cột cùng là “{column}”; xóa bớt một cột",
        "two columns mean {column!r}; remove one",
    ),
    # -- a row's cells (asxh_pay.payroll.lists)
    "required": ("Ô “{column}” để trống", "{column} is empty"),
    "required.programme": (
        "Chưa ghi chương trình (NCC/BTXH/HTXH) và không có chương trình mặc định",
        "programme (NCC/BTXH/HTXH) is missing and no default was given",
    ),
    "required.period": (
        "Chưa ghi kỳ chi trả và không có kỳ chi trả mặc định",
        "pay period is missing and no default was given",
    ),
    "required.method": (
        "Chưa ghi hình thức nhận (chỉ ghi địa chỉ thì chưa đủ để coi là chi trả tại nhà)",
        "payment method is empty (an address alone does not say home delivery)",
    ),
    "required.bank": (
        "Chưa ghi ngân hàng cho hình thức nhận qua tài khoản ngân hàng",
        "bank is empty for a bank account payment",
    ),
    "required.cash_point": (
        "Nhận tiền mặt nhưng không có mã xã hoặc điểm chi trả",
        "no commune or payment point for a cash payment",
    ),
    "required.address": ("Chi trả tại nhà phải ghi địa chỉ", "home delivery needs the address"),
    "excel_scientific": (
        "{column:Field} bị Excel đổi sang dạng số khoa học và mất chữ số; " + _TEXT,
        "{column:field} is in scientific notation (Excel turned it into a number and dropped digits); "
        "format the column as Text and enter it again",
    ),
    "excel_number": (
        "{column:Field} bị Excel lưu thành số thập phân; " + _TEXT,
        "{column:field} was stored as a decimal number; format the column as Text and enter it again",
    ),
    "excel_number.account": (
        "Số tài khoản bị Excel lưu thành số nên có thể đã mất các số 0 ở đầu; " + _TEXT,
        "account number was stored as a number by Excel, so leading zeros may be lost; "
        "format the column as Text and enter it again",
    ),
    "leading_zero_lost": (
        "{column:Field} có vẻ đã mất số 0 ở đầu (do cột Excel dạng số); " + _TEXT,
        "{column:field} seems to have lost its leading zero (an Excel number column); "
        "format the column as Text and enter it again",
    ),
    "leading_zero_lost.admin_code": (
        "“{column}” ghi “{value}”, ít hơn {width} chữ số (cột Excel dạng số làm mất số 0 ở đầu); " + _TEXT,
        "{column} {value!r} is shorter than {width} digits (an Excel number column drops leading zeros); "
        "format the column as Text and enter it again",
    ),
    "admin_code_format": (
        "“{column}” phải gồm {width} chữ số, ô này ghi “{value}”",
        "{column} must be {width} digits, got {value!r}",
    ),
    "date_format": (
        "Ngày “{value}” không đúng dạng dd/mm/yyyy hoặc không có thật",
        "date {value!r} is not dd/mm/yyyy",
    ),
    "period.list": ("Kỳ chi trả “{value}” không đúng dạng MM/YYYY", "pay period {value!r} is not MM/YYYY"),
    "period.month": ("Kỳ chi trả “{value}” có tháng không tồn tại", "pay period {value!r} has no such month"),
    "programme_mismatch": (
        "Dòng thuộc chương trình {programme}, đợt chi này chi trả chương trình {run}",
        "row is for programme {programme}, this run pays {run}",
    ),
    "period_mismatch": (
        "Dòng thuộc kỳ chi trả {period:period}, đợt chi này chi trả kỳ {run:period}",
        "row is for period {period}, this run pays {run}",
    ),
    "method_unknown": (
        "Hình thức nhận “{value}” không thuộc các hình thức: tài khoản ngân hàng, ví điện tử, tài khoản "
        "bưu điện, nhận tại điểm chi trả, nhận tại bưu điện, chi trả tại nhà",
        "payment method {value!r} is not one of: tai khoan ngan hang, vi dien tu, tai khoan buu dien, "
        "nhan tai diem chi tra, nhan tai buu dien, chi tra tai nha",
    ),
    "wallet_provider_unknown": (
        "Không nhận ra ví điện tử “{value}” (Viettel Money, MoMo, VNPT Money)",
        "wallet {value!r} is not known (Viettel Money, MoMo, VNPT Money)",
    ),
    "invalid": ("Không đọc được dòng này", "row could not be read"),
    # pydantic's own checks (a length limit of the model): its English message is kept as it is.
    "invalid.pydantic": ("Giá trị không hợp lệ ({type})", "{message}"),
    "string_too_long": ("Nội dung dài quá {max} ký tự", "{message}"),
    "string_too_short": ("Nội dung ngắn hơn {min} ký tự", "{message}"),
    # -- identity (asxh_pay.identity)
    "cccd_not_digits.not_text": (
        "Số CCCD phải nhập dạng văn bản (cột dạng số làm mất số 0 ở đầu)",
        "CCCD must be given as text (a number column loses leading zeros)",
    ),
    "cccd_not_digits": ("Số CCCD chỉ được gồm chữ số", "CCCD must contain digits only"),
    "cccd_is_cmnd": (
        "Đây là số CMND cũ 9 chữ số: cần thay bằng số CCCD 12 chữ số của người này",
        "this is an old 9-digit CMND: it must be replaced by the holder's 12-digit CCCD",
    ),
    "cccd_length": ("Số CCCD phải có 12 chữ số, ô này có {n} chữ số", "CCCD must have 12 digits, got {n}"),
    "cccd_province": (
        "Ba chữ số đầu của số CCCD không phải mã tỉnh nào",
        "CCCD starts with an unknown province code",
    ),
    "cccd_birth_year": (
        "Năm sinh suy ra từ số CCCD là năm ở tương lai",
        "CCCD encodes a birth year in the future",
    ),
    "cccd_birth_mismatch": (
        "Các chữ số thế kỷ và năm sinh trong số CCCD không khớp với ngày sinh",
        "CCCD century/birth-year digits do not match the date of birth",
    ),
    "phone_format.not_text": (
        "Số điện thoại phải nhập dạng văn bản (cột dạng số làm mất số 0 ở đầu)",
        "phone number must be given as text (a number column loses the leading 0)",
    ),
    "phone_format.foreign": (
        "Chỉ nhận số điện thoại Việt Nam (+84)",
        "only Vietnamese (+84) numbers are accepted",
    ),
    "phone_format.not_digits": ("Số điện thoại chỉ được gồm chữ số", "phone number must contain digits only"),
    "phone_format": (
        "Số điện thoại phải gồm số 0 và 9 chữ số, hoặc 84 và 9 chữ số",
        "phone number must be 0 + 9 digits or 84 + 9 digits",
    ),
    "phone_prefix": (
        "Số điện thoại không thuộc đầu số di động Việt Nam đang sử dụng",
        "not a current Vietnamese mobile prefix",
    ),
    "name_invalid.not_text": ("Họ tên phải là văn bản", "name must be text"),
    "name_invalid.empty": ("Họ tên để trống", "name is empty"),
    "name_invalid.too_long": ("Họ tên dài quá {max} ký tự", "name is longer than {max} characters"),
    "name_invalid.no_letters": ("Họ tên không có chữ cái nào", "name has no letters"),
    "name_invalid.digits": ("Họ tên có chữ số", "name contains digits"),
    "name_invalid": ("Họ tên có ký tự không được phép", "name contains a character that is not allowed"),
    # -- amounts (asxh_pay.money)
    "amount_not_positive": ("Số tiền phải lớn hơn 0", "amount must be positive"),
    "amount_over_ceiling": (
        "Số tiền vượt mức trần {ceiling:vnd}",
        "amount is over the ceiling of {ceiling:vnd}",
    ),
    "amount_format.too_long": ("Ô số tiền quá dài", "amount text is too long"),
    "amount_fractional.text": (
        "Số tiền có phần thập phân; số tiền đồng phải là số nguyên",
        "amount has a decimal part; VND amounts are whole numbers",
    ),
    "amount_format": (
        "Không đọc được số tiền thành một số nguyên (đồng)",
        "amount is not a readable whole number of VND",
    ),
    "amount_format.boolean": (
        "Số tiền phải là số, không phải giá trị đúng/sai",
        "amount must be a number, not a boolean",
    ),
    "amount_format.not_finite": ("Số tiền không phải là một số hữu hạn", "amount is not a finite number"),
    "amount_fractional": ("Số tiền có phần thập phân", "amount has a decimal part"),
    "amount_format.type": ("Số tiền phải là số hoặc văn bản", "amount must be a number or text"),
    # -- banks and accounts (asxh_pay.banks)
    "bank_bin_format": ("Mã BIN ngân hàng phải gồm 6 chữ số", "bank BIN must be 6 digits"),
    "bank_bin_unknown": ("Mã BIN không có trong danh mục ngân hàng", "bank BIN is not in the bank table"),
    "bank_unknown.empty": ("Chưa ghi ngân hàng", "bank is empty"),
    "bank_unknown.bin": ("Mã BIN không có trong danh mục ngân hàng", "bank BIN is not in the bank table"),
    "bank_unknown.ambiguous": (
        "Tên ngân hàng ứng với nhiều ngân hàng; ghi tên đầy đủ hoặc mã BIN",
        "bank name matches more than one bank",
    ),
    "bank_unknown": ("Không nhận ra ngân hàng", "bank not recognised"),
    "account_format.not_text": ("Số tài khoản phải là văn bản", "account number must be text"),
    "account_format.negative": ("Số tài khoản không được là số âm", "account number cannot be negative"),
    "account_format.type": (
        "Số tài khoản phải là văn bản (định dạng cột là Văn bản - Text)",
        "account number must be text (read the column as text)",
    ),
    "account_format": ("Số tài khoản phải gồm 6 đến 19 chữ số", "account number must be 6 to 19 digits"),
    # -- the request (asxh_pay.models)
    "period": (
        "Kỳ chi trả “{value}” không hợp lệ: phải có dạng YYYY-MM, năm từ 2000 đến 2099",
        "pay period must be YYYY-MM, got {value!r}",
    ),
    "programme": (
        "Mã chương trình phải gồm 2 đến 16 chữ in hoa, chữ số, '-' hoặc '_' (ví dụ NCC, BTXH)",
        "programme code must be 2-16 capital letters, digits, '-' or '_' (e.g. NCC, BTXH)",
    ),
    "admin_code": ("Mã đơn vị hành chính “{value}” không hợp lệ", "invalid administrative code {value!r}"),
    "recipient_self_with_identity": (
        "Đối tượng tự nhận thì không ghi thông tin người nhận thay; nếu có người nhận thay, ghi rõ là "
        "người được ủy quyền hay người giám hộ",
        "a self recipient carries no separate identity; use kind=authorised or guardian",
    ),
    "recipient_incomplete": (
        "Người nhận thay ({kind:recipient}) còn thiếu {missing:fields}",
        "an {kind} recipient needs {missing:list}",
    ),
    # -- warnings of a row that is paid (asxh_pay.payroll.lists)
    "method_inferred.bank": (
        "Không ghi hình thức nhận; có số tài khoản và ngân hàng nên chi trả qua tài khoản ngân hàng",
        "method_inferred:bank",
    ),
    "method_inferred.wallet": (
        "Không ghi hình thức nhận; có ví điện tử và số điện thoại nên chi trả qua ví điện tử",
        "method_inferred:wallet",
    ),
    "method_inferred.cash_pickup": (
        "Không ghi hình thức nhận, không có tài khoản: nhận tiền mặt tại điểm chi trả",
        "method_inferred:cash_pickup",
    ),
    "no_account.bank": (
        "Nhận qua tài khoản ngân hàng nhưng không ghi số tài khoản: nhận tiền mặt tại điểm chi trả",
        "no_account:bank",
    ),
    "no_account.postal_account": (
        "Nhận qua tài khoản bưu điện nhưng không ghi số tài khoản: nhận tiền mặt tại điểm chi trả",
        "no_account:postal_account",
    ),
    "no_account.wallet": (
        "Nhận qua ví điện tử nhưng không ghi số điện thoại: nhận tiền mặt tại điểm chi trả",
        "no_account:wallet",
    ),
    # -- placement in the 2025 units (asxh_pay.payroll.placement, asxh_pay.units)
    "programme_unknown": (
        "Chương trình {programme} chưa được khai báo (đã khai báo: {known:list}); chương trình mới được "
        "khai báo trong tệp programmes.json",
        "programme {programme} is not known (known: {known:list}); a new programme is added in "
        "programmes.json",
    ),
    "required.old_commune": (
        "Danh sách theo mã đơn vị hành chính cũ (trước 1/7/2025) phải ghi mã xã cũ",
        "a list in pre-2025 codes needs the old commune code",
    ),
    "required.commune": (
        "Dòng không có mã xã; tỉnh chi trả tập trung cần biết xã của từng dòng",
        "the row has no commune code; a province paying centrally needs each row's commune",
    ),
    "unit_split": ("{mapping}", "unit_split: {mapping}"),
    "unit_unknown": (
        "{listed} không phải mã xã theo đơn vị hành chính năm 2025, cũng không phải mã xã cũ",
        "{listed} is neither a 2025 commune code nor a pre-2025 one",
    ),
    "unit_unknown.commune": (
        "“{code}” không phải mã xã theo đơn vị hành chính hai cấp (từ 1/7/2025)",
        "{code!r} is not a commune code of the 2025 two-tier structure",
    ),
    "unit_unknown.commune_old": (
        "“{code}” không phải mã xã theo đơn vị hành chính hai cấp (từ 1/7/2025): đây là mã cũ của "
        "{name}, {district}, {successors}",
        "{code!r} is not a commune code of the 2025 two-tier structure (it is the pre-2025 code of "
        "{name}, {district}; {successors})",
    ),
    "unit_unknown.province": (
        "“{code}” không phải mã tỉnh theo đơn vị hành chính hai cấp (từ 1/7/2025)",
        "{code!r} is not a province code of the 2025 two-tier structure",
    ),
    "unit_unknown.province_old": (
        "“{code}” không phải mã tỉnh theo đơn vị hành chính hai cấp (từ 1/7/2025): đây là mã cũ của "
        "{name}, nay thuộc tỉnh mã {to}",
        "{code!r} is not a province code of the 2025 two-tier structure (it is the pre-2025 code of "
        "{name}, now province {to})",
    ),
    "unit_district_mismatch": (
        "{name} cũ (mã {code}) thuộc {district} (mã {district_code}), nhưng danh sách ghi huyện mã "
        "{listed_district}",
        "old commune {name} ({code}) was in {district} ({district_code}), but the list says district "
        "{listed_district}",
    ),
    "unit_district_mismatch.named": (
        "{name} cũ (mã {code}) thuộc {district} (mã {district_code}), nhưng danh sách ghi "
        "{listed_district_name} (mã {listed_district})",
        "old commune {name} ({code}) was in {district} ({district_code}), but the list says district "
        "{listed_district} ({listed_district_name})",
    ),
    "unit_outside": (
        "{commune} thuộc {province} nằm ngoài đơn vị chi trả của đợt chi này là {unit}",
        "{commune} of {province} is outside this run's paying unit, {unit}",
    ),
    "_mapping.split": (
        "{name} cũ (mã {code}, {district}) {successors}: cán bộ cần xác định đối tượng đang sống ở "
        "xã, phường mới nào",
        "old commune {name} ({code}, {district}) was {successors}: a person must say which one this "
        "beneficiary lives in",
    ),
    "_mapping.mapped": (
        "{name} cũ (mã {code}, {district}) {successors}",
        "old commune {name} ({code}, {district}) is {successors}",
    ),
    "_successors.split": ("đã được chia cho {units:list}", "split between {units:list}"),
    "_successors.one": ("nay là {units:list}", "now {units:list}"),
    "_paying_unit.province": ("{name} ({code}), chi trả tập trung", "{name} ({code}), paying centrally"),
    "_paying_unit.commune": (
        "{name} ({code}), {province_name} ({province_code})",
        "{name} ({code}), {province_name} ({province_code})",
    ),
    # -- de-duplication (asxh_pay.payroll.dedupe)
    "duplicate.same_list": (
        "Trùng với dòng {kept} (cùng danh sách): chỉ chi trả một lần",
        "duplicate of {kept} (same list): paid once",
    ),
    "duplicate.other_list": (
        "Trùng với dòng {kept} (ở danh sách khác): chỉ chi trả một lần",
        "duplicate of {kept} (another list): paid once",
    ),
    "duplicate_conflict": (
        "Đối tượng có tên {n} lần trong danh sách nhưng {parts:and}: {rows:list}; cần xác định dòng nào đúng",
        "beneficiary listed {n} times with {parts:and}: {rows:list}; decide which is right",
    ),
    "_conflict.amounts": ("số tiền khác nhau ({amounts:vnds})", "different amounts ({amounts:vnds})"),
    "_conflict.destinations": ("tài khoản hoặc hình thức nhận khác nhau", "different accounts or methods"),
    "_conflict.recipients": ("người nhận khác nhau", "different recipients"),
    "beneficiary_and_recipient": (
        "{cccd} vừa là đối tượng ({own:list}) vừa nhận thay cho {n} người khác ({others:list})",
        "{cccd} is a beneficiary ({own:list}) and receives for {n} other(s) ({others:list})",
    ),
    # -- the population register (asxh_pay.payroll.registry); {failure}: the payout failure reason
    "beneficiary_not_found": (
        "Số CCCD của đối tượng không có trong CSDL quốc gia về dân cư",
        "{failure}: beneficiary's CCCD is not in the population register",
    ),
    "recipient_not_found": (
        "Số CCCD của người nhận thay không có trong CSDL quốc gia về dân cư",
        "{failure}: recipient's CCCD is not in the population register",
    ),
    "beneficiary_deceased": (
        "Đối tượng đã chết ngày {died:date} (theo CSDL quốc gia về dân cư)",
        "{failure}: beneficiary died on {died} (population register)",
    ),
    "recipient_deceased": (
        "Người nhận thay đã chết ngày {died:date} (theo CSDL quốc gia về dân cư)",
        "{failure}: recipient died on {died} (population register)",
    ),
    "beneficiary_birth_date_mismatch": (
        "Ngày sinh của đối tượng trong danh sách khác với CSDL quốc gia về dân cư",
        "{failure}: beneficiary's date of birth on the list differs from the population register",
    ),
    "recipient_birth_date_mismatch": (
        "Ngày sinh của người nhận thay trong danh sách khác với CSDL quốc gia về dân cư",
        "{failure}: recipient's date of birth on the list differs from the population register",
    ),
    "beneficiary_name_mismatch": (
        "Họ tên của đối tượng trong danh sách không khớp với CSDL quốc gia về dân cư "
        "(kết quả so khớp: {how:match})",
        "{failure}: beneficiary's name on the list does not match the population register ({how})",
    ),
    "recipient_name_mismatch": (
        "Họ tên của người nhận thay trong danh sách không khớp với CSDL quốc gia về dân cư "
        "(kết quả so khớp: {how:match})",
        "{failure}: recipient's name on the list does not match the population register ({how})",
    ),
    "entitlement_stopped": ("{stop}", "{failure}: {stop}"),
    "recipient_is_beneficiary": (
        "Người nhận thay chính là đối tượng: sửa dòng này thành đối tượng tự nhận",
        "{failure}: the authorised person is the beneficiary: make the row a self payment",
    ),
    "authorisation_expired": (
        "Giấy ủy quyền chỉ có hiệu lực đến ngày {until:date}",
        "{failure}: authorisation ended on {until}",
    ),
    "_stop.deceased": (
        "Đã chết ngày {died:date} (theo CSDL quốc gia về dân cư)",
        "deceased on {died} (population register)",
    ),
    "_stop.not_in_register": (
        "Số CCCD không còn trong CSDL quốc gia về dân cư",
        "CCCD no longer in the population register",
    ),
    "_stop.entitlement": ("Đã thôi hưởng chế độ {programme}", "entitlement to {programme} ended"),
    "_stop.entitlement_note": (
        "Đã thôi hưởng chế độ {programme}: {note}",
        "entitlement to {programme} ended: {note}",
    ),
    # -- the account check and the ledger (asxh_pay.payroll.prepare)
    "no_rail": (
        "Chưa cấu hình đơn vị chi trả cho hình thức “{method:method}”",
        "no_rail: {error}",
    ),
    "account_not_verified": (
        "Không tra cứu được tài khoản tại {provider} ({error}); vẫn chi trả nhưng chưa xác minh "
        "chủ tài khoản",
        "{provider} inquiry failed ({error}); paid unverified",
    ),
    "account_not_found": (
        "{provider} không tìm thấy tài khoản này: sẽ chuyển chi tiền mặt",
        "{provider} does not know this account: it will be paid in cash (fallback)",
    ),
    "account_owner_mismatch": (
        "Tên chủ tài khoản không khớp với họ tên đối tượng hoặc người nhận thay "
        "(kết quả so khớp: {how:match})",
        "{failure}: the account holder's name does not match the beneficiary or the authorised person "
        "({how})",
    ),
    "account_owner_reordered": (
        "Tên chủ tài khoản là họ tên trong danh sách nhưng họ được chuyển lên đầu hoặc xuống cuối "
        "(vẫn chấp nhận)",
        "account holder name is the list name with the family name moved (accepted)",
    ),
    "already_in_ledger": (
        "Đã có trong sổ cái (khoản {payout}, {status:status}); không chi trả lại",
        "already in the ledger as {payout} ({status}); not paid again",
    ),
    "conflicts_with_ledger": (
        "Sổ cái đã có khoản {payout} cho đối tượng, chương trình và kỳ chi trả này nhưng với thông tin khác",
        "duplicate: the ledger already has {payout} for this beneficiary, programme and period with "
        "other details",
    ),
}


__all__ += [
    "DETAILS",
    "FIELDS",
    "NAME_MATCHES",
    "RECIPIENT_KINDS",
    "Detail",
    "detail",
    "dump_detail",
    "load_detail",
]


class Detail(str):
    """A row-level reason's detail: a key of :data:`DETAILS` and its parameters.

    Why a ``str`` whose value is the English text: the validators raise it inside a
    :class:`~asxh_pay.errors.ValidationError`, the API and the logs read it as before, and
    nothing that handles a detail as text needs to change. What reaches an official is
    rendered from the structure instead (:meth:`text`, :func:`detail`), in their language;
    text derived from a Detail by string operations is plain English and loses it.

    Parameters are kept as JSON values (dates as ISO text) so that a detail can wait in a
    temporary file (:func:`dump_detail`) and come back whole. They hold what the English text
    held, no more: personal data is masked before it gets here, as before.
    """

    key: str
    params: dict[str, Any]

    def __new__(cls, key: str, /, **params: Any) -> Detail:
        clean = {name: _param(value) for name, value in params.items()}
        self = super().__new__(cls, _render(key, "en", clean))
        self.key = key
        self.params = clean
        return self

    @property
    def code(self) -> str:
        """The row's machine code this detail explains (the key up to its first dot)."""
        return self.key.partition(".")[0]

    def text(self, lang: str = "vi") -> str:
        return str.__str__(self) if lang == "en" else _render(self.key, lang, self.params)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_make_detail, (self.key, self.params))


def _make_detail(key: str, params: dict[str, Any]) -> Detail:
    return Detail(key, **params)


def _param(value: Any) -> Any:
    if isinstance(value, Detail) or value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return str(value)  # a StrEnum's value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_param(v) for v in value]
    return str(value)


def _date(value: Any, lang: str) -> str:
    text = str(value)
    if lang == "en" or len(text) != 10 or text[4] != "-" or text[7] != "-":
        return text
    return f"{text[8:10]}/{text[5:7]}/{text[:4]}"


def _period_words(value: Any, lang: str) -> str:
    text = str(value)
    if lang == "en" or len(text) != 7 or text[4] != "-":
        return text
    return f"{text[5:7]}/{text[:4]}"


def _vnd(value: Any) -> str:
    # asxh_pay.money.format_vnd's form; not imported, so that this module stays a leaf.
    return f"{value:,}".replace(",", ".") + " ₫" if isinstance(value, int) else str(value)


def _items(value: Any, lang: str) -> list[str]:
    return [v.text(lang) if isinstance(v, Detail) else str(v) for v in value]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


_SPECS: dict[str, Any] = {
    "date": _date,
    "period": _period_words,
    "vnd": lambda v, lang: _vnd(v),
    "vnds": lambda v, lang: " / ".join(_vnd(x) for x in v),
    "list": lambda v, lang: ", ".join(_items(v, lang)),
    "and": lambda v, lang: (" and " if lang == "en" else " và ").join(_items(v, lang)),
    "field": lambda v, lang: term(FIELDS, v, lang),
    "Field": lambda v, lang: _capital(term(FIELDS, v, lang)),
    "fields": lambda v, lang: ", ".join(term(FIELDS, x, lang) for x in v),
    "method": lambda v, lang: term(METHODS, v, lang),
    "status": lambda v, lang: term(STATUSES, v, lang),
    "match": lambda v, lang: term(NAME_MATCHES, v, lang),
    "recipient": lambda v, lang: term(RECIPIENT_KINDS, v, lang),
}


class _Arg:
    """One parameter as ``str.format`` sees it: nested details and the specs above in ``lang``."""

    __slots__ = ("lang", "value")

    def __init__(self, value: Any, lang: str) -> None:
        self.value, self.lang = value, lang

    def __format__(self, spec: str) -> str:
        value = self.value
        if isinstance(value, Detail):
            value = value.text(self.lang)
        how = _SPECS.get(spec)
        return str(how(value, self.lang)) if how is not None else format(value, spec)

    def __repr__(self) -> str:
        return repr(str(self.value) if isinstance(self.value, str) else self.value)

    def __str__(self) -> str:
        return self.__format__("")


def _render(key: str, lang: str, params: Mapping[str, Any]) -> str:
    """``key``'s template in ``lang`` filled with ``params``; never raises (a text problem must
    not stop a preparation): the English template, then the bare key and its parameters."""
    pair = DETAILS.get(key)
    args = {name: _Arg(value, lang) for name, value in params.items()}
    for template in (_pick(pair, key, lang), pair[1]) if pair else ():
        try:
            return template.format_map(args)
        except (KeyError, IndexError, ValueError, TypeError, AttributeError):
            continue
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
    return f"{key} ({shown})" if shown else key


def detail(value: str, lang: str = "vi") -> str:
    """A detail in ``lang``: a :class:`Detail` rendered from its key and parameters; any other
    text (a provider's words, an older run's file) as it is."""
    return value.text(lang) if isinstance(value, Detail) else str(value)


def _encode(value: Any) -> Any:
    if isinstance(value, Detail):
        return {"key": value.key, "params": {k: _encode(v) for k, v in value.params.items()}}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        return Detail(str(value["key"]), **{k: _decode(v) for k, v in value["params"].items()})
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def dump_detail(value: str) -> str:
    """A detail as JSON text (a :class:`Detail` with its key and parameters, other text as text)."""
    return json.dumps(_encode(value if isinstance(value, Detail) else str(value)), ensure_ascii=False)


def load_detail(text: str) -> str:
    """The detail :func:`dump_detail` wrote."""
    value = _decode(json.loads(text))
    return value if isinstance(value, str) else str(value)


# ======================================================================= end of row-level details

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
    "details": DETAILS,
    "fields": FIELDS,
    "name_matches": NAME_MATCHES,
    "recipient_kinds": RECIPIENT_KINDS,
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
