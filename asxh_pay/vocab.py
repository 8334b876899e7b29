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
* :data:`PHRASES`: sentences of the console and the document (``str.format`` fields);
* :data:`MESSAGES`: the tool commands' lines and the errors an operator meets, raised by the
  library as :class:`asxh_pay.errors.Message` (English in ``str(exc)``, the reader's language
  on screen); :func:`phrase` finds these too.

A key missing from a table falls back to the key itself, so a new code is shown raw
rather than hidden; :func:`missing` lists what lacks a translation (a test keeps it empty).
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from datetime import date
from typing import Any

__all__ = [
    "LABELS",
    "LANGS",
    "MESSAGES",
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


# ------------------------------------------------------------------------------------------
# MESSAGES: the tool commands' console lines and the errors an operator meets (issue 17).
# Kept apart from PHRASES so that the row-level work on PHRASES/REASONS merges cleanly.
# Errors are raised with asxh_pay.errors.Message(key, **fields): the English text is what
# str(exc) says (library users and logs), the CLI shows the reader's language. A key is
# looked up by phrase() here after PHRASES; no key is in both tables (a test checks).
# ------------------------------------------------------------------------------------------

MESSAGES: dict[str, Pair] = {
    # Command-line argument checks (asxh_pay.cli.output).
    "usage_error": ("{prog}: lỗi: {message}", "{prog}: error: {message}"),
    "not_a_date": (
        "{text!r} không phải ngày hợp lệ: cần dạng YYYY-MM-DD, ví dụ 2026-11-02",
        "{text!r} is not a date: expected YYYY-MM-DD, e.g. 2026-11-02",
    ),
    "not_a_period": (
        "{text!r} không phải kỳ chi trả: cần dạng YYYY-MM, ví dụ 2026-11",
        "{text!r} is not a pay period: expected YYYY-MM, e.g. 2026-11",
    ),
    "not_whole_number": ("{text!r} không phải số nguyên", "{text!r} is not a whole number"),
    "at_least_one": ("phải từ 1 trở lên, đã nhập {value}", "must be at least 1, got {value}"),
    "env_not_set": ("Chưa đặt biến môi trường {name}", "environment variable {name} is not set"),
    # Runs: ids, unknown runs, the frozen run (asxh_pay.payroll.approval).
    "run_id_invalid": (
        "Mã đợt chi {run_id!r} không hợp lệ: chỉ gồm chữ cái, chữ số, '.', '_' và '-'",
        "invalid run id {run_id!r}: letters, digits, '.', '_' and '-' only",
    ),
    "unknown_run_none": (
        "Không có đợt chi {run!r}: chưa có đợt chi nào được lập trong {root} (lập bằng asxh-pay "
        "prepare; hay đợt chi nằm ở một --data-dir khác?)",
        "no run {run!r}: no runs prepared in {root} yet (asxh-pay prepare; or is it another --data-dir?)",
    ),
    "unknown_run_close": (
        "Không có đợt chi {run!r} trong {root}; có phải là đợt chi {runs}?",
        "no run {run!r} in {root}; did you mean {runs}?",
    ),
    "unknown_run_known": (
        "Không có đợt chi {run!r} trong {root}; các đợt chi đã có (mới nhất ở cuối): {runs}",
        "no run {run!r} in {root}; known runs (latest last): {runs}",
    ),
    "manifest_damaged": ("Tệp manifest của đợt chi {run} bị hỏng", "manifest of {run} is damaged"),
    "run_format_unknown": (
        "{run}: không nhận ra định dạng đợt chi {format!r}",
        "{run}: unknown run format {format!r}",
    ),
    "frozen_line_damaged": (
        "Dòng {line} của danh sách chi đã chốt bị hỏng ({kind})",
        "frozen run line {line} is damaged ({kind})",
    ),
    "frozen_line_key": (
        "Dòng {line} của danh sách chi đã chốt: khóa chống chi trùng không thuộc khoản chi của dòng (đã bị "
        "sửa?)",
        "frozen run line {line}: key does not belong to its payout (edited?)",
    ),
    "run_exists": (
        "Đợt chi {run_id} đã tồn tại; hãy lập đợt chi mới, không ghi đè đợt chi cũ",
        "run {run_id} already exists; prepare a new run instead of overwriting it",
    ),
    # Approval: signatures, maker-checker (asxh_pay.payroll.approval).
    "role_prepared": ("lập", "prepared"),
    "role_approved": ("phê duyệt", "approved"),
    "no_preparer_signature": (
        "Đợt chi không có chữ ký của người lập",
        "the run carries no preparer signature",
    ),
    "payouts_edited": (
        "Danh sách chi đã chốt bị sửa sau khi lập; hãy lập lại đợt chi",
        "the frozen payouts were edited after preparation; prepare the run again",
    ),
    "frozen_line_changed": (
        "Dòng {line} của payouts.jsonl bị sửa sau khi đợt chi đã được kiểm tra; không chi trả từ dòng "
        "này trở đi: hãy lập và phê duyệt lại đợt chi",
        "payouts.jsonl line {line} changed after the run was checked; nothing past it is paid: "
        "prepare and approve the run again",
    ),
    "frozen_lines_lost": (
        "payouts.jsonl mất {n} khoản chi sau khi đợt chi đã được kiểm tra: hãy lập và phê duyệt lại đợt chi",
        "payouts.jsonl lost {n} payouts after the run was checked: prepare and approve the run again",
    ),
    "frozen_payouts_missing": (
        "Không có danh sách chi đã chốt (payouts.jsonl) của đợt chi",
        "the run's frozen payouts (payouts.jsonl) are missing",
    ),
    "signature_malformed": (
        "Khối chữ ký của người {role} bị sai cấu trúc",
        "the {role} signature block is malformed",
    ),
    "run_changed_after_signing": (
        "Đợt chi đã bị thay đổi sau khi {operator} {role}: danh sách chi đã chốt không còn khớp mã băm đã "
        "ký; hãy lập và phê duyệt lại",
        "the run was changed after it was {role} by {operator}: the frozen payouts no longer match the "
        "signed hash; prepare and approve it again",
    ),
    "signature_key_untrusted": (
        "Chữ ký của {operator} (người {role}) dùng khóa mà danh bạ khóa không còn tin cậy cho {operator} "
        "(đã thay khóa hoặc chưa từng ghi danh): hãy ký lại đợt chi bằng khóa hiện hành",
        "the {role} signature of {operator} was made with a key the roster no longer trusts for "
        "{operator} (replaced or never enrolled): sign the run again with the current key",
    ),
    "signature_forged": (
        "Chữ ký của {operator} (người {role}) không xác thực được (bị giả mạo hoặc bị hỏng)",
        "the {role} signature of {operator} does not verify (forged or damaged)",
    ),
    "approval_key_is_preparers": (
        "Khóa phê duyệt chính là khóa của người lập: một cán bộ khác phải phê duyệt",
        "the approval key is the preparer's key: another operator must approve",
    ),
    "not_approved": (
        "Đợt chi {run_id} chưa được phê duyệt: một cán bộ khác phê duyệt bằng 'asxh-pay approve {run_id}'",
        "run {run_id} is not approved: 'asxh-pay approve {run_id}' by another operator",
    ),
    "approval_damaged": ("Tệp approval.json bị hỏng", "approval.json is damaged"),
    "approval_not_approval": (
        "Tệp approval.json không phải là bản phê duyệt",
        "approval.json is not an approval",
    ),
    "approved_by_preparer": (
        "Đợt chi do chính người lập phê duyệt: một cán bộ khác phải phê duyệt",
        "the run was approved by its own preparer: another operator must approve it",
    ),
    "already_started": (
        "Đợt chi {run_id} đã bắt đầu chi trả (sổ cái đã có khoản chi của đợt này); tiếp tục bằng "
        "'asxh-pay run {run_id} --resume'",
        "run {run_id} was already started (payouts in the ledger); continue it with "
        "'asxh-pay run {run_id} --resume'",
    ),
    # Operator keys (asxh_pay.payroll.approval, asxh_pay.payroll.roster).
    "key_exists": (
        "Cán bộ {operator!r} đã có khóa ({path}); không ghi đè khóa hiện có",
        "a key for operator {operator!r} already exists ({path}); refusing to replace it",
    ),
    "force_trusted_key": (
        "{path} đang chứa khóa được tin cậy của {owner}; --force không bao giờ thay khóa đang được tin "
        "cậy. Hãy ghi khóa mới ra chỗ khác (--out) rồi nhờ một cán bộ khác hoặc khóa văn phòng ghi danh "
        "bằng 'asxh-pay keys enroll --operator {operator} --replace'",
        "{path} holds the trusted key of {owner}; --force never replaces a trusted key. Write the new key "
        "elsewhere (--out) and have another operator or the office enroll it with "
        "'asxh-pay keys enroll --operator {operator} --replace'",
    ),
    "missing_operator_key": (
        "Không có khóa bí mật tại {path}: tạo khóa bằng 'asxh-pay keys generate --operator TÊN' rồi "
        "ghi danh khóa ('asxh-pay keys enroll'), hoặc chỉ đường dẫn khóa bằng --key",
        "no private key at {path}: create one with 'asxh-pay keys generate --operator NAME' and have it "
        "enrolled ('asxh-pay keys enroll'), or give its path with --key",
    ),
    "key_not_trusted_for": (
        "Khóa {path} không phải khóa được tin cậy của cán bộ {operator}",
        "key {path} is not the trusted key of operator {operator}",
    ),
    "operator_name_invalid": (
        "Tên cán bộ phải dài 1-64 ký tự, chỉ gồm chữ cái, chữ số, '.', '_' hoặc '-'",
        "operator name must be 1-64 letters, digits, '.', '_' or '-'",
    ),
    "operator_name_office": (
        "{office!r} là tên của khóa văn phòng, không phải tên cán bộ",
        "{office!r} is the office key's name, not an operator's",
    ),
    "key_unusable": ("Không dùng được khóa {path}: {detail}", "cannot use key {path}: {detail}"),
    "no_key_at": (
        "Không có khóa tại {path}: khóa của cán bộ được tạo bằng 'asxh-pay keys generate', khóa văn phòng "
        "bằng 'asxh-pay keys init-office'; hoặc chỉ đường dẫn khác bằng --key",
        "no key at {path}: an operator's key is made by 'asxh-pay keys generate', the office's by "
        "'asxh-pay keys init-office'; give another path with --key",
    ),
    "key_not_ed25519": (
        "Khóa {path} không phải khóa Ed25519 (hãy dùng 'asxh-pay keys generate')",
        "key {path} is not an Ed25519 key (use 'asxh-pay keys generate')",
    ),
    "no_public_key_at": (
        "Không có khóa công khai tại {path}: lệnh 'asxh-pay keys generate' ghi khóa này cạnh khóa bí mật",
        "no public key at {path}: 'asxh-pay keys generate' writes it next to the private key",
    ),
    "public_key_unreadable": (
        "Không đọc được khóa công khai {path}: {detail}",
        "cannot read public key {path}: {detail}",
    ),
    "public_key_not_ed25519": (
        "{path} không phải khóa công khai Ed25519 (hãy dùng 'asxh-pay keys generate')",
        "{path} is not an Ed25519 public key (use 'asxh-pay keys generate')",
    ),
    # The operator roster (asxh_pay.payroll.roster).
    "operator_not_enrolled": (
        "Cán bộ {name!r} chưa được ghi danh trong danh bạ khóa: một cán bộ khác hoặc khóa văn phòng ghi "
        "danh bằng 'asxh-pay keys enroll --operator {name} --public-key TỆP --signed-by TÊN'",
        "operator {name!r} is not enrolled in the roster: another operator or the office enrolls them with "
        "'asxh-pay keys enroll --operator {name} --public-key FILE --signed-by NAME'",
    ),
    "operator_revoked": (
        "Khóa của cán bộ {name!r} đã bị {by} thu hồi",
        "operator {name!r} was revoked by {by}",
    ),
    "preparer_cannot_approve": (
        "{approver} đã lập đợt chi này nên không được phê duyệt: một cán bộ khác phải phê duyệt",
        "{approver} prepared this run and cannot approve it: another operator must",
    ),
    "approver_enrolled_by_preparer": (
        "Khóa của {approver} do {preparer} (hoặc người do {preparer} ghi danh) ghi danh, nên {preparer} "
        "có thể đang giữ khóa đó: một cán bộ khác, do khóa văn phòng ghi danh, phải phê duyệt",
        "{approver}'s key was enrolled by {preparer} (or by someone {preparer} enrolled), so {preparer} "
        "could hold it: another operator, enrolled by the office key, must approve",
    ),
    "preparer_enrolled_by_approver": (
        "Khóa của {preparer} do {approver} (hoặc người do {approver} ghi danh) ghi danh, nên {approver} "
        "không được phê duyệt đợt chi của {preparer}: một cán bộ khác phải phê duyệt",
        "{preparer}'s key was enrolled by {approver} (or by someone {approver} enrolled), so {approver} "
        "may not approve {preparer}'s run: another operator must",
    ),
    "roster_missing": (
        "Chưa có danh bạ khóa cán bộ tại {path}: thiết lập văn phòng một lần bằng 'asxh-pay keys "
        "init-office', rồi ghi danh các cán bộ bằng 'asxh-pay keys enroll'",
        "no operator roster at {path}: set up the office once with 'asxh-pay keys init-office', then "
        "enroll the operators with 'asxh-pay keys enroll'",
    ),
    "roster_unreadable": (
        "Không đọc được danh bạ khóa cán bộ {path}: {detail}",
        "cannot read the operator roster {path}: {detail}",
    ),
    "roster_line_damaged": (
        "Dòng {line} của danh bạ khóa cán bộ {path} bị hỏng (bị sửa tay?)",
        "operator roster {path} line {line} is damaged (edited by hand?)",
    ),
    "roster_empty": (
        "Danh bạ khóa cán bộ {path} đang trống: lệnh 'asxh-pay keys init-office' tạo danh bạ này",
        "operator roster {path} is empty: 'asxh-pay keys init-office' creates it",
    ),
    "roster_tampered": (
        "Danh bạ khóa cán bộ {path} đã bị sửa ngoài lệnh 'asxh-pay keys' (mục {seq}: {why}); mọi chữ ký "
        "của các cán bộ trong danh bạ đều không được tin cậy cho đến khi khôi phục lại",
        "operator roster {path} was changed outside 'asxh-pay keys' (entry {seq}: {why}); nothing signed "
        "by its operators is trusted until it is restored",
    ),
    "tamper_order": ("thiếu mục hoặc sai thứ tự", "entries missing or out of order"),
    "tamper_chain": ("không nối tiếp mục liền trước", "it does not follow the entry before it"),
    "tamper_hash": ("nội dung không khớp mã băm", "its content does not match its hash"),
    "tamper_first": ("mục đầu tiên phải là khóa văn phòng", "the first entry must be the office key"),
    "tamper_action": ("thao tác không hợp lệ {action!r}", "unknown action {action!r}"),
    "tamper_signer_untrusted": (
        "do {signer!r} ký, khi đó không phải cán bộ được tin cậy",
        "signed by {signer!r}, who was not a trusted operator then",
    ),
    "tamper_signer_fingerprint": (
        "vân tay của người ký không khớp khóa của người ký",
        "signer fingerprint does not match the signer's key",
    ),
    "tamper_signature": (
        "chữ ký của {signer} không xác thực được",
        "the signature of {signer} does not verify",
    ),
    "tamper_malformed": ("sai cấu trúc ({kind})", "malformed ({kind})"),
    "tamper_self_signed": (
        "{name} tự ký thay đổi khóa của chính mình",
        "{name} signed a change of their own key",
    ),
    "tamper_not_enrolled": ("{name} chưa được ghi danh", "{name} is not enrolled"),
    "tamper_fingerprint": ("vân tay không khớp khóa", "fingerprint does not match the key"),
    "tamper_key_of_other": ("khóa này thuộc về người khác", "this key belongs to someone else"),
    "tamper_key_reused": (
        "khóa đã bị thay hoặc thu hồi thì không được tin cậy lại",
        "a replaced or revoked key cannot be trusted again",
    ),
    "tamper_already_enrolled": ("{name} đã được ghi danh", "{name} is already enrolled"),
    "tamper_nothing_to_replace": (
        "{name} chưa được ghi danh, không có khóa để thay",
        "{name} is not enrolled, nothing to replace",
    ),
    "roster_pin_mismatch": (
        "Khóa văn phòng của danh bạ ({office}) không phải khóa văn phòng đã ghim trong {env} ({pinned}): "
        "danh bạ khóa đã bị thay thế",
        "the roster's office key {office} is not the office key pinned in {env} ({pinned}): the roster "
        "was replaced",
    ),
    "office_exists": (
        "Văn phòng đã được thiết lập ({path}); không thể thay khóa văn phòng",
        "the office is already set up ({path}); its key cannot be replaced",
    ),
    "key_file_exists": (
        "{path} đã tồn tại; không ghi đè tệp khóa",
        "{path} already exists; refusing to replace a key file",
    ),
    "roster_change_unknown": (
        "Không có thao tác {action!r} trên danh bạ khóa",
        "unknown roster change {action!r}",
    ),
    "self_signed_change": (
        "{operator} không được tự ký thay đổi khóa của chính mình: một cán bộ khác đã được ghi danh hoặc "
        "khóa văn phòng phải ký (--signed-by)",
        "{operator} cannot sign a change of their own key: another enrolled operator or the office key "
        "must sign it (--signed-by)",
    ),
    "signer_key_not_trusted": (
        "Khóa {path} không phải khóa được tin cậy của {signer}",
        "key {path} is not the trusted key of {signer}",
    ),
    "action_enroll": ("ghi danh", "enroll"),
    "action_replace": ("thay khóa", "replace"),
    "public_key_needed": (
        "Cần khóa công khai của cán bộ (--public-key) để {action}",
        "{action} needs the operator's public key (--public-key)",
    ),
    "public_key_in_use": (
        "Khóa công khai này đã được tin cậy cho {owner}: mỗi cán bộ phải có khóa riêng",
        "this public key is already trusted for {owner}: each operator has their own",
    ),
    "public_key_retired": (
        "Khóa công khai này từng được tin cậy cho {former} trước khi bị thay hoặc thu hồi; khóa cũ không "
        "bao giờ được tin cậy lại: hãy tạo khóa mới",
        "this public key was trusted for {former} before it was replaced or revoked; a key is never "
        "trusted again: generate a new one",
    ),
    "already_enrolled": (
        "{operator} đã được ghi danh (khóa {fingerprint}); khóa mới của cán bộ này là thay khóa: "
        "'asxh-pay keys enroll --replace'",
        "{operator} is already enrolled (key {fingerprint}); a new key for them is a replacement: "
        "'asxh-pay keys enroll --replace'",
    ),
    "not_enrolled_operator": (
        "{operator} không phải cán bộ đã được ghi danh",
        "{operator} is not an enrolled operator",
    ),
    "office_needs_key": (
        "--signed-by office cần có --key (tệp khóa văn phòng)",
        "--signed-by office needs --key (the office key file)",
    ),
    # Preparing a run (asxh_pay.payroll.prepare, asxh_pay.units).
    "period_required": (
        "Chưa có kỳ chi trả (--period YYYY-MM)",
        "the pay period is required (--period YYYY-MM)",
    ),
    "period_invalid": (
        "Kỳ chi trả phải có dạng YYYY-MM, tháng từ 01 đến 12, ví dụ 2026-11; đã nhập {period!r}",
        "pay period must be YYYY-MM with a month 01-12, e.g. 2026-11; got {period!r}",
    ),
    "run_id_format": (
        "Mã đợt chi {run_id!r} phải dài 1-64 ký tự, chỉ gồm chữ cái, chữ số, '.', '_' hoặc '-' (không bắt "
        "đầu bằng '.' hoặc '-')",
        "run id {run_id!r} must be 1-64 letters, digits, '.', '_' or '-' (not starting with '.' or '-')",
    ),
    "no_operator_key": (
        "Cán bộ {operator!r} chưa có khóa bí mật tại {path}; tạo khóa bằng lệnh: {command} (sau đó một "
        "cán bộ khác hoặc khóa văn phòng ghi danh khóa: asxh-pay keys enroll)",
        "operator {operator!r} has no private key at {path}; make one with: {command} (then another "
        "operator or the office enrolls it: asxh-pay keys enroll)",
    ),
    "no_list_file": (
        "Không tìm thấy tệp hoặc thư mục danh sách: {path}",
        "no such list file or folder: {path}",
    ),
    "unsupported_list_file": (
        "{name}: không hỗ trợ loại tệp {suffix!r}; hãy lưu danh sách thành {suffixes}",
        "{name}: unsupported list file type {suffix!r}; save it as {suffixes}",
    ),
    "unsupported_list_row": (
        "{file}: loại tệp không được hỗ trợ; hãy lưu danh sách thành .csv, .xlsx hoặc .xls",
        "{file}: {reason}",
    ),
    "programme_not_known": (
        "Chương trình {programme!r} chưa được khai báo (đã có: {known}); chương trình mới được khai báo "
        "trong programmes.json",
        "programme {programme!r} is not known (known: {known}); a new programme is added in programmes.json",
    ),
    "no_list_files": ("(không tìm thấy tệp danh sách nào)", "(no list files found)"),
    "lists_empty": (
        "Danh sách không có dòng đối tượng nào: {files}",
        "the lists have no beneficiary rows: {files}",
    ),
    "all_rows_rejected": (
        "Mọi dòng đều bị loại ({n} dòng); không có khoản nào để chi trả. Hãy sửa danh sách rồi lập lại",
        "every row was rejected ({n} rows); nothing to pay. Fix the lists and prepare again",
    ),
    "district_gone": (
        "Cấp huyện không còn (chính quyền địa phương hai cấp từ ngày 1/7/2025): đợt chi do xã chi trả "
        "(--commune MÃ) hoặc do tỉnh chi trả tập trung (--province MÃ); danh sách theo mã huyện, xã cũ "
        "được tự động chuyển đổi",
        "districts no longer exist (two-tier local government since 1 July 2025): a run is paid by a "
        "commune (--commune CODE) or by a province paying centrally (--province CODE); lists in old "
        "district/commune codes are mapped automatically",
    ),
    "level_commune": ("xã", "commune"),
    "level_province": ("tỉnh", "province"),
    "unit_not_current": (
        "{code!r} không phải mã {level} theo mô hình chính quyền hai cấp năm 2025{hint}",
        "{code!r} is not a {level} code of the 2025 two-tier structure{hint}",
    ),
    "hint_old_commune": (
        " (đây là mã cũ trước 2025 của {name}, {district}; {successors})",
        " (it is the pre-2025 code of {name}, {district}; {successors})",
    ),
    "successors_split": ("nay đã chia cho {names}", "split between {names}"),
    "successors_now": ("nay là {names}", "now {names}"),
    "hint_old_province": (
        " (đây là mã cũ trước 2025 của {name}, nay thuộc tỉnh {to})",
        " (it is the pre-2025 code of {name}, now province {to})",
    ),
    "unit_not_in_province": (
        "Xã {commune} thuộc {province} ({province_code}), không thuộc tỉnh {given}",
        "commune {commune} is in {province} ({province_code}), not in province {given}",
    ),
    "paying_unit_required": (
        "Đợt chi cần có đơn vị chi trả: --commune MÃ hoặc --province MÃ",
        "a run needs its paying unit: --commune CODE or --province CODE",
    ),
    # Reconciliation's command line (asxh_pay.cli.payroll, asxh_pay.cli.reconcile).
    "one_run_at_most": (
        "Chỉ được nêu tối đa một mã đợt chi, đã nhập {n} (hoặc có tệp không tồn tại)",
        "one run id at most, got {n} (or a file that does not exist)",
    ),
    "separate_reconcile": (
        "Hãy đối chiếu riêng tệp ISO 20022 của ngân hàng và báo cáo đối soát của ví điện tử, bưu điện: "
        "mỗi loại một lần chạy reconcile",
        "give the bank's ISO 20022 files and the wallet/postal settlement reports in separate runs of "
        "reconcile",
    ),
    "settlement_report_unreadable": (
        "{path}: không đọc được báo cáo đối soát ({detail})",
        "{path}: {detail}",
    ),
    "out_suffix": ("--out {out}: chỉ dùng .csv, .xlsx hoặc .json", "--out {out}: use .csv, .xlsx or .json"),
    "report_files_unreadable": (
        "Không đọc được các tệp báo cáo: {detail}",
        "cannot read report files: {detail}",
    ),
    # The demo's own lines (asxh_pay.cli.payroll).
    "demo_office": (
        "  Đã tạo khóa văn phòng; {maker} và {checker} được ghi danh bằng khóa này (danh bạ khóa có chữ "
        "ký: keys/roster.jsonl)",
        "  office key made; {maker} and {checker} enrolled by it (signed roster: keys/roster.jsonl)",
    ),
    "demo_served": (
        "  Chạy qua HTTP trên 127.0.0.1 (cấu hình {config}, nhật ký {logs})",
        "  served over HTTP on 127.0.0.1 (config {config}, logs {logs})",
    ),
    "demo_serve_month": (
        "  asxh-pay serve tại {url}: kỳ chi trả tiền mặt của bưu điện đã kết thúc ({days} ngày)",
        "  asxh-pay serve at {url}: the post office's month passed ({days} days)",
    ),
    # ledger verify / ledger anchor (asxh_pay.cli).
    "anchor_needs_key": (
        "--anchor và --public-key phải dùng cùng nhau",
        "--anchor and --public-key go together",
    ),
    "roster_problem": ("Danh bạ khóa cán bộ: {problem}", "operator roster: {problem}"),
    "anchor_key_untrusted": (
        "Mốc được ký bằng khóa {fingerprint}, khóa mà danh bạ khóa cán bộ chưa bao giờ tin cậy cho "
        "{operator}",
        "the anchor is signed by key {fingerprint}, which the operator roster never trusted for {operator}",
    ),
    "anchor_public_not_ed25519": (
        "{path} không phải khóa công khai Ed25519: mốc được ký bằng Ed25519",
        "{path} is not an Ed25519 public key: anchors are signed with Ed25519",
    ),
    "anchor_private_not_ed25519": (
        "{path} không phải khóa bí mật Ed25519: mốc được ký bằng Ed25519",
        "{path} is not an Ed25519 private key: anchors are signed with Ed25519",
    ),
    # Signed anchors of the ledger's history (asxh_pay.ledger.anchor).
    "anchor_nothing_run": (
        "Không có gì để ký mốc: đợt chi {run_id} chưa có khoản chi nào",
        "nothing to anchor: run {run_id} has no payouts",
    ),
    "anchor_nothing_ledger": (
        "Không có gì để ký mốc: sổ cái chưa có khoản chi nào",
        "nothing to anchor: the ledger has no payouts",
    ),
    "anchor_header": ("phần đầu", "header"),
    "anchor_trailer": ("phần cuối", "trailer"),
    "anchor_line_long": (
        "Dòng {line} dài quá {max} byte: đây không phải tệp mốc",
        "line {line} is longer than {max} bytes: not an anchor",
    ),
    "anchor_line_cut": (
        "Dòng {line} bị cắt cụt: tệp mốc không đầy đủ",
        "line {line} is cut short: the anchor is truncated",
    ),
    "anchor_not_json": (
        "Dòng {line} ({what}) không phải JSON: tệp mốc bị hỏng",
        "line {line} ({what}) is not JSON: the anchor is damaged",
    ),
    "anchor_not_object": (
        "Dòng {line} ({what}) không phải đối tượng JSON: tệp mốc bị hỏng",
        "line {line} ({what}) is not an object: the anchor is damaged",
    ),
    "anchor_not_head": (
        "Dòng {line} không phải đầu chuỗi băm: tệp mốc bị hỏng",
        "line {line} is not a chain head: the anchor is damaged",
    ),
    "anchor_unreadable": ("Không đọc được tệp mốc {path}: {detail}", "cannot read anchor {path}: {detail}"),
    "anchor_format": (
        "{path} không phải tệp mốc asxh-pay (cần định dạng {format})",
        "{path} is not an asxh-pay anchor (format {format} expected)",
    ),
    "anchor_other_key": (
        "Mốc được ký bằng khóa {signed}, không phải khóa đã cung cấp ({given})",
        "the anchor was signed by key {signed}, not by the key given ({given})",
    ),
    "anchor_after_trailer": (
        "Dòng {line} nằm sau phần cuối: tệp mốc bị hỏng",
        "line {line} follows the trailer: the anchor is damaged",
    ),
    "anchor_no_trailer": (
        "Tệp mốc không có phần cuối: tệp không đầy đủ",
        "the anchor has no trailer: it is truncated",
    ),
    "anchor_edited": (
        "Các dòng của tệp mốc không khớp mã gốc đã ký: tệp đã bị sửa hoặc bị hỏng",
        "the anchor's lines do not match its signed root: it was edited or damaged",
    ),
    "anchor_forged": (
        "Chữ ký của tệp mốc không xác thực được: tệp bị giả mạo hoặc bị hỏng",
        "the anchor's signature does not verify: it is forged or damaged",
    ),
    # The ledger opened by a command (asxh_pay.ledger).
    "no_ledger_at": (
        "Không có sổ cái tại {path}: hãy kiểm tra --ledger / --data-dir; lệnh chỉ đọc không bao giờ tạo "
        "sổ cái mới",
        "no ledger at {path}: check --ledger / --data-dir; a read-only command never creates one",
    ),
    "no_ledger_at_folder": (
        "Không có sổ cái tại {path} (đó là một thư mục): hãy kiểm tra --ledger / --data-dir; lệnh chỉ đọc "
        "không bao giờ tạo sổ cái mới",
        "no ledger at {path} (that is a folder): check --ledger / --data-dir; a read-only command never "
        "creates one",
    ),
    "sqlite_not_ledger": (
        "{path} là cơ sở dữ liệu SQLite nhưng không phải sổ cái asxh-pay",
        "{path} is an SQLite database but not an asxh-pay ledger",
    ),
    "not_a_ledger": (
        "{path} không phải sổ cái asxh-pay ({detail})",
        "{path} is not an asxh-pay ledger ({detail})",
    ),
    "ledger_outdated": (
        "Sổ cái {path} thuộc phiên bản cũ (còn các bước nâng cấp {missing}); lệnh có ghi dữ liệu ('asxh-pay "
        "run', 'asxh-pay reconcile --apply') sẽ nâng cấp sổ cái",
        "ledger {path} is from an older version (migrations {missing} pending); a command that writes "
        "(run, reconcile --apply) upgrades it",
    ),
    "ledger_in_use": (
        "Sổ cái {path} đang được tiến trình khác sử dụng; mỗi lúc chỉ một tiến trình chi trả từ sổ cái "
        "SQLite (dùng PostgreSQL cho nhiều tiến trình)",
        "ledger {path} is in use by another process; one process pays from a SQLite ledger at a time "
        "(use PostgreSQL for many workers)",
    ),
    "pg_no_ledger": (
        "Cơ sở dữ liệu PostgreSQL này không có sổ cái asxh-pay",
        "no asxh-pay ledger in this PostgreSQL database",
    ),
    "pg_no_ledger_schema": (
        "Cơ sở dữ liệu PostgreSQL này không có sổ cái asxh-pay (schema {schema})",
        "no asxh-pay ledger in this PostgreSQL database (schema {schema})",
    ),
    "ledger_schema_behind": (
        "Cấu trúc sổ cái đã cũ (còn các bước nâng cấp {missing}): hãy chạy 'asxh-pay db upgrade'",
        "ledger schema is behind (migrations {missing} pending): run 'asxh-pay db upgrade'",
    ),
    "pg_connect": ("Không kết nối được sổ cái PostgreSQL", "cannot connect to the PostgreSQL ledger"),
    "pg_connect_detail": (
        "Không kết nối được sổ cái PostgreSQL: {detail}",
        "cannot connect to the PostgreSQL ledger: {detail}",
    ),
    "pg_extra": (
        "Sổ cái PostgreSQL cần gói bổ sung 'postgres': pip install 'asxh_pay[postgres]'",
        "the PostgreSQL ledger needs the 'postgres' extra: pip install 'asxh_pay[postgres]'",
    ),
    # The configuration (asxh_pay.config, asxh-pay config show/check).
    "secrets_dir_not_dir": (
        "{env} trỏ tới {path}, đây không phải là thư mục",
        "{env} names {path}, which is not a directory",
    ),
    "config_missing": ("Không có tệp cấu hình {file}", "configuration file {file} does not exist"),
    "config_not_toml": ("{file} không phải tệp TOML hợp lệ: {detail}", "{file} is not valid TOML: {detail}"),
    "config_secret_in_clear": (
        "{file} chứa thông tin bí mật ở dạng rõ ({names}): hãy xóa khỏi tệp và đặt trong biến môi trường "
        "({envs}) hoặc trong thư mục bí mật (tên tệp viết thường)",
        "{file} holds a secret in clear ({names}): remove it from the file and set it in the environment "
        "({envs}) or in the secrets directory (lower-case file names)",
    ),
    "config_invalid": ("Cấu hình không hợp lệ: {problems}", "invalid configuration: {problems}"),
    "config_invalid_in": (
        "Cấu hình trong {file} không hợp lệ: {problems}",
        "invalid configuration in {file}: {problems}",
    ),
    "secret_not_set": (
        "Chưa đặt {name}: hãy đặt biến môi trường {env} (hoặc tệp {file} trong thư mục bí mật)",
        "{name} is not set: set the environment variable {env} (or the file {file} in the secrets directory)",
    ),
    "key_file_not_set": (
        "Chưa khai báo rails.{rail}.key_files.{key}: hãy thêm vào tệp cấu hình hoặc đặt biến {env}",
        "rails.{rail}.key_files.{key} is not set: add it to the file or set {env}",
    ),
    "key_file_missing": (
        "rails.{rail}.key_files.{key}: không có tệp {path}",
        "rails.{rail}.key_files.{key}: {path} does not exist",
    ),
    "config_no_file": (
        "(không có tệp: dùng các môi trường thử nghiệm tích hợp sẵn)",
        "(no file: the embedded sandboxes)",
    ),
    "config_effective": (
        "# Cấu hình đang áp dụng, từ {source}, biến môi trường và thư mục bí mật",
        "# effective configuration from {source}, environment and secrets directory",
    ),
    "check_ok": ("ĐẠT", "OK"),
    "check_fail": ("LỖI", "FAIL"),
    "config_ok": ("Cấu hình đạt yêu cầu", "configuration OK"),
    "config_failing": ("Cấu hình có kênh chi trả bị lỗi", "configuration has failing rails"),
    # Sandboxes, the callback server, the scale-out commands.
    "unknown_provider": (
        "Không có đơn vị chi trả {name!r}; đã cài đặt: {installed} (gói của đơn vị chi trả tự đăng ký "
        "trong nhóm entry point {group!r})",
        "unknown provider {name!r}; installed: {installed} (a provider package registers itself in the "
        "entry point group {group!r})",
    ),
    "none_installed": ("chưa có", "none"),
    "register_listening": (
        "CSDL dân cư thử nghiệm đang chạy tại {url} ({n} người trong {db}; mã truy cập thử nghiệm: xem "
        "asxh_pay.payroll.register_http.SANDBOX_TOKEN) (Ctrl-C để dừng)",
        "register sandbox listening on {url} ({n} people in {db}; sandbox bearer token: see "
        "asxh_pay.payroll.register_http.SANDBOX_TOKEN) (Ctrl-C to stop)",
    ),
    "sandbox_listening": (
        "Môi trường thử nghiệm {provider} đang chạy tại {url} (Ctrl-C để dừng)",
        "{provider} sandbox listening on {url} (Ctrl-C to stop)",
    ),
    "serve_extra": (
        "asxh-pay serve cần gói bổ sung 'serve': pip install 'asxh_pay[serve]'",
        "asxh-pay serve needs the 'serve' extra: pip install 'asxh_pay[serve]'",
    ),
    "serve_sqlite_note": (
        "Lưu ý: sổ cái SQLite: không chạy 'asxh-pay run' trong khi serve đang chạy trên cùng tệp; dùng "
        "PostgreSQL để nhận callback trong lúc chi trả",
        "note: SQLite ledger: do not run 'asxh-pay run' while serve is up on the same file; use "
        "PostgreSQL to receive callbacks during a run",
    ),
    "serve_listening": (
        "asxh-pay serve tại http://{host}:{port}: nhận callback của {rails}; /healthz /readyz /metrics",
        "asxh-pay serve on http://{host}:{port}: callbacks for {rails}; /healthz /readyz /metrics",
    ),
    "no_rail": ("không có kênh chi trả nào", "no rail"),
    "migrations_applied": (
        "Đã nâng cấp cấu trúc sổ cái (các bước {applied})",
        "applied migrations {applied}",
    ),
    "schema_up_to_date": ("Cấu trúc sổ cái đã là bản mới nhất", "ledger schema is up to date"),
    "no_provider_named": (
        "Chưa chỉ định đơn vị chi trả: dùng --providers, --provider-url hoặc --sandbox, hoặc một tệp cấu "
        "hình (--config asxh-pay.toml) có base_url cho các kênh chi trả",
        "no provider named: give --providers, --provider-url or --sandbox, or a configuration "
        "(--config asxh-pay.toml) whose rails have a base_url",
    ),
    "one_provider_option": (
        "Chỉ dùng một trong các tùy chọn --providers, --provider-url hoặc --sandbox",
        "name at most one of --providers, --provider-url or --sandbox",
    ),
    "providers_needs_function": (
        "--providers cần có dạng MODULE:FUNCTION",
        "--providers needs MODULE:FUNCTION",
    ),
    "provider_factory": (
        "Không nạp được hàm tạo đơn vị chi trả {spec!r}: {detail}",
        "cannot load provider factory {spec!r}: {detail}",
    ),
    "not_payout_request": (
        "{path}:{line}: không phải lệnh chi hợp lệ ({kind})",
        "{path}:{line}: not a payout request ({kind})",
    ),
    "enqueued": (
        "Đã ghi {created} lệnh chi mới ({existing} lệnh đã có, {refused} lệnh bị từ chối)",
        "enqueued {created} new payouts ({existing} already recorded, {refused} refused)",
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
    "messages": MESSAGES,
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
    """A sentence of :data:`PHRASES` or :data:`MESSAGES` in ``lang``, its fields filled in."""
    text = _pick(PHRASES.get(key) or MESSAGES.get(key), key, lang)
    return text.format(**fields) if fields else text


def target_met(met: bool, lang: str = "vi") -> str:
    """ "Đạt"/"Không đạt" (never True/False in a document)."""
    return phrase("yes" if met else "no", lang)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def missing() -> list[str]:
    """Every ``table.key`` lacking a Vietnamese or English text, or whose Vietnamese names a
    ``{field}`` the English does not (callers pass the English text's fields: the Vietnamese
    may leave out an English-only detail, never ask for more). Row details are exempt from
    that last rule: a :class:`Detail` carries every parameter to both templates, and each
    language may word it from different ones (tests/payroll/test_row_reasons_vi.py checks
    them against the parameters the checker gives). A test keeps it empty."""
    return [
        f"{name}.{key}"
        for name, table in TABLES.items()
        for key, pair in table.items()
        if len(pair) != 2
        or not all(isinstance(s, str) and s.strip() for s in pair)
        or (name != "details" and not _fields(pair[0]) <= _fields(pair[1]))
    ]
