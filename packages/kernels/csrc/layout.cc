#include "layout.h"

namespace urgate {

GateFamily ParseMechanism(const std::string& m) {
  if (m == "-" || m == "C-" || m == "U-") return GateFamily::kPlain;
  if (m == "O-") return GateFamily::kOrdered;
  if (m == "R-" || m == "UR-") return GateFamily::kRefine;
  if (m == "OR-") return GateFamily::kOrderedRefine;
  if (m == "OM-") return GateFamily::kCumaxMaster;
  if (m == "UM-") return GateFamily::kSigmoidMaster;
  throw std::invalid_argument("mechanism: expected one of - C- O- OM- U- R- UR- UM- OR-, got '" + m + "'");
}

Layout MakeLayout(Core core, GateFamily family, int d, int downsize) {
  Layout l;
  const int m = HasMaster(family) ? d / downsize : 0;
  if (core == Core::kLstm) {
    l.f = 0;
    (HasRefine(family) ? l.r : l.i) = d;
    l.u = 2 * d;
    l.o = 3 * d;
    l.cols = 4 * d;
  } else {
    l.f = 0;
    int next = d;
    if (HasRefine(family)) { l.r = next; next += d; }
    l.s = next; next += d;
    l.u = next; next += d;
    l.cols = next;
  }
  if (m > 0) {
    l.mf = l.cols;
    l.mi = l.cols + m;
    l.cols += 2 * m;
    l.masters = m;
  }
  return l;
}

void ValidateShape(const LayerShape& s) {
  auto positive = [](int v, const char* name) {
    if (v <= 0) throw std::invalid_argument(std::string(name) + ": expected a positive integer, got " + std::to_string(v));
  };
  positive(s.input, "inputSize");
  positive(s.hidden, "hiddenSize");
  positive(s.batch, "batch");
  positive(s.steps, "steps");
  // OpenBLAS takes 32-bit dimensions: the T * B rows of the whole-sequence
  // gemms times their widest operand must stay below 2^31 elements.
  const long long rows = static_cast<long long>(s.steps) * s.batch;
  const long long width = 4LL * s.hidden + 2LL * s.hidden + s.input;
  if (rows * width >= (1LL << 31) || static_cast<long long>(s.input + s.hidden) * width >= (1LL << 31))
    throw std::invalid_argument("steps: steps * batch * (6 * hiddenSize + inputSize) must stay below 2^31 elements");
  if (HasMaster(s.family)) {
    positive(s.downsize, "downsize");
    if (s.hidden % s.downsize != 0)
      throw std::invalid_argument("downsize: must divide hiddenSize " + std::to_string(s.hidden) + ", got " +
                                  std::to_string(s.downsize));
  }
}

}  // namespace urgate
