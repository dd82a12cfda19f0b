#pragma once
/// CSV cells for files that people open in spreadsheets (exports, rejects, assignments).
#include <string>
#include <string_view>

namespace mpiseg {

/// One CSV cell: RFC 4180 quoting when the text holds a delimiter, quote or line break. Unless
/// `raw`, text that a spreadsheet would evaluate as a formula (it starts with '=', '+', '-', '@',
/// a tab or a carriage return and is not a number) gets a leading single quote, as OWASP
/// recommends against CSV injection; numbers are never changed.
std::string csv_cell(std::string_view text, bool raw = false);

/// True when a spreadsheet could take `text` for a formula (see csv_cell).
bool looks_like_formula(std::string_view text) noexcept;

}  // namespace mpiseg
