#pragma once
/// Exact, order-independent summation of doubles.
///
/// Floating-point addition is not associative, so a sum reduced over 2 ranks differs in the last
/// bits from the same sum over 3 ranks. mpiseg sums on a fixed-point grid instead: each value is
/// rounded once onto a grid chosen from a *global* bound (the same on every rank), the rounded
/// integers are added exactly in 128 bits, and the total is converted back with one rounding.
/// Integer addition is associative, so the result is bit-identical for any rank count, any order
/// and any partition of the data. With |x| <= bound mapped to at most 2^62 grid units, each value
/// keeps an absolute precision of bound * 2^-62, and up to 2^64 values can be added.
///
///   const auto grid = FixedPointGrid::for_bound(global_max_abs);   // allreduce(max) first
///   int128 sum = 0;
///   for (double x : values) sum += grid.quantize(x);
///   allreduce_exact(std::span(&sum, 1), comm);                     // comm/collectives.hpp
///   double total = grid.to_double(sum);
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace mpiseg {

__extension__ using int128 = __int128;

class FixedPointGrid {
 public:
  /// A grid on which every |x| <= bound is representable without overflow. `bound` must be finite.
  static FixedPointGrid for_bound(double bound) noexcept {
    int exponent = 0;
    if (bound > 0) std::frexp(bound, &exponent);  // bound < 2^exponent
    // Keep 2^shift and 2^-shift finite and normal; bounds below 2^-938 lose relative precision.
    return FixedPointGrid(std::clamp(62 - exponent, -1000, 1000));
  }

  /// Rounds x (|x| <= bound) to the grid; multiplication by a power of two is exact, the
  /// conversion rounds to nearest even.
  std::int64_t quantize(double x) const noexcept { return std::llrint(x * scale_); }
  double to_double(int128 sum) const noexcept { return static_cast<double>(sum) * inverse_scale_; }
  /// log2 of the grid spacing's inverse: value = integer * 2^-shift.
  int shift() const noexcept { return shift_; }

 private:
  explicit FixedPointGrid(int shift) noexcept
      : shift_(shift), scale_(std::ldexp(1.0, shift)), inverse_scale_(std::ldexp(1.0, -shift)) {}
  int shift_;
  double scale_;
  double inverse_scale_;
};

/// Money on a fixed grid of 2^-44 (about 5.7e-14), the same for every run whatever the data holds:
/// each line value (quantity x price) is rounded once to the grid and sums are exact 128-bit
/// integers, converted back to double with one rounding. Because the grid does not depend on the
/// largest value in the data, one huge line cannot take the precision of everyone else's sums.
/// Ingest rejects line values of magnitude kMaxValue (2^53) or more (bad_price), so a quantized
/// value is below 2^97 and any sum of up to 2^30 lines at that extreme (or of 2^64 lines of at
/// most 2^19) fits in 127 bits.
struct MoneyGrid {
  static constexpr int kShift = 44;
  static constexpr double kMaxValue = 9007199254740992.0;  // 2^53

  /// x = whole + fraction exactly (trunc and the subtraction are exact), so
  /// whole * 2^44 + llrint(fraction * 2^44) equals llrint(x * 2^44) wherever that fits in 64 bits.
  static int128 quantize(double x) noexcept {
    const double whole = std::trunc(x);
    return (static_cast<int128>(static_cast<std::int64_t>(whole)) << kShift) + std::llrint(std::ldexp(x - whole, kShift));
  }
  static double to_double(int128 sum) noexcept { return std::ldexp(static_cast<double>(sum), -kShift); }
};

/// Splits a 128-bit sum into three 64-bit limbs (42 + 42 + 44 bits, the top one signed) so that
/// P ranks can add limbs with an ordinary int64 allreduce without overflow for P < 2^20.
inline void split_limbs(int128 value, std::int64_t limbs[3]) noexcept {
  constexpr int128 kMask = (int128{1} << 42) - 1;
  limbs[0] = static_cast<std::int64_t>(value & kMask);
  limbs[1] = static_cast<std::int64_t>((value >> 42) & kMask);
  limbs[2] = static_cast<std::int64_t>(value >> 84);
}

inline int128 join_limbs(const std::int64_t limbs[3]) noexcept {
  return (static_cast<int128>(limbs[2]) << 84) + (static_cast<int128>(limbs[1]) << 42) + static_cast<int128>(limbs[0]);
}

}  // namespace mpiseg
