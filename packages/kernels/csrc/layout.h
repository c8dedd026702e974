// The parameter layout of packages/contract/LAYOUT.md: which column blocks a
// layer's pre-activations have, in which order, for each core and mechanism.
#pragma once

#include <stdexcept>
#include <string>

namespace urgate {

enum class Core { kLstm, kGru };

// How a mechanism forms the effective forget and input gates (LAYOUT.md,
// "Gate mechanisms"). C- and U- differ from - only in initialisation, UR- from
// R- likewise, so the kernels see five families.
enum class GateFamily {
  kPlain,          // -, C-, U-: F = sigma(a_f), I = sigma(a_i) (GRU: 1 - f)
  kOrdered,        // O-: F = cumax(a_f), I = 1 - cumax(a_i) (GRU: 1 - F)
  kRefine,         // R-, UR-: refine gate on sigma(a_f)
  kOrderedRefine,  // OR-: refine gate on cumax(a_f)
  kCumaxMaster,    // OM-: ON-LSTM master gates (cumax), downsized by C
  kSigmoidMaster,  // UM-: master gates are sigmoids
};

GateFamily ParseMechanism(const std::string& mechanism);  // throws std::invalid_argument

inline bool HasRefine(GateFamily g) { return g == GateFamily::kRefine || g == GateFamily::kOrderedRefine; }
inline bool HasMaster(GateFamily g) { return g == GateFamily::kCumaxMaster || g == GateFamily::kSigmoidMaster; }

// Column offsets of each block in a row of pre-activations; -1 where absent.
struct Layout {
  int cols = 0;
  int f = -1, i = -1, r = -1, s = -1, u = -1, o = -1, mf = -1, mi = -1;
  int masters = 0;  // m = d / C for the master blocks, else 0
};

Layout MakeLayout(Core core, GateFamily family, int hidden, int downsize);

// Everything that fixes the sizes of one layer's sequence call.
struct LayerShape {
  Core core = Core::kLstm;
  GateFamily family = GateFamily::kPlain;
  int input = 0;     // n
  int hidden = 0;    // d
  int downsize = 1;  // C (master mechanisms only)
  int batch = 0;     // B
  int steps = 0;     // T
};

// Throws std::invalid_argument with a message naming the bad field.
void ValidateShape(const LayerShape& shape);

}  // namespace urgate
