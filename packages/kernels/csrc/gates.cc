#include "gates.h"

#include "fast_math.h"
#include "simd.h"

namespace urgate {
namespace {

URGATE_VECTOR_LOOP void SigmoidInPlace(float* __restrict x, int n) {
  for (int j = 0; j < n; ++j) x[j] = Sigmoid(x[j]);
}

// softmax in place (the p of cumax = cumsum(p)).
URGATE_VECTOR_LOOP void SoftmaxInPlace(float* __restrict x, int n) {
  float mx = x[0];
  for (int j = 1; j < n; ++j) mx = x[j] > mx ? x[j] : mx;
  for (int j = 0; j < n; ++j) x[j] = Exp(x[j] - mx);
  double sum = 0;
  for (int j = 0; j < n; ++j) sum += x[j];
  const float inv = static_cast<float>(1.0 / sum);
  for (int j = 0; j < n; ++j) x[j] *= inv;
}

URGATE_VECTOR_LOOP void CumSum(const float* __restrict p, float* __restrict out, int n) {
  float acc = 0;
  for (int j = 0; j < n; ++j) out[j] = acc += p[j];
}

// y = cumsum(p), p = softmax(a). Given dy, writes dL/da over p (in place).
// dL/dp_k = sum_{j>=k} dy_j; dL/da = p * (dL/dp - <p, dL/dp>).
URGATE_VECTOR_LOOP void CumaxBackwardInPlace(float* __restrict p, const float* __restrict dy, float* __restrict dp, int n) {
  float acc = 0;
  for (int j = n - 1; j >= 0; --j) dp[j] = acc += dy[j];
  double dot = 0;
  for (int j = 0; j < n; ++j) dot += static_cast<double>(p[j]) * dp[j];
  const float d = static_cast<float>(dot);
  for (int j = 0; j < n; ++j) p[j] = p[j] * (dp[j] - d);
}

bool OrderedForget(GateFamily g) { return g == GateFamily::kOrdered || g == GateFamily::kOrderedRefine; }

}  // namespace

int GateScratchSize(const Layout& l, int hidden) { return 2 * hidden + 5 * l.masters; }

void ActivateGates(Core core, GateFamily family, const Layout& l, int d, float* row) {
  if (OrderedForget(family)) SoftmaxInPlace(row + l.f, d);
  else SigmoidInPlace(row + l.f, d);
  if (l.i >= 0 && core == Core::kLstm) {
    if (family == GateFamily::kOrdered) SoftmaxInPlace(row + l.i, d);
    else SigmoidInPlace(row + l.i, d);
  }
  if (l.r >= 0) SigmoidInPlace(row + l.r, d);
  if (family == GateFamily::kCumaxMaster) {
    SoftmaxInPlace(row + l.mf, l.masters);
    SoftmaxInPlace(row + l.mi, l.masters);
  } else if (family == GateFamily::kSigmoidMaster) {
    SigmoidInPlace(row + l.mf, l.masters);
    SigmoidInPlace(row + l.mi, l.masters);
  }
}

URGATE_VECTOR_LOOP void EffectiveGates(Core core, GateFamily family, const Layout& l, int d, int C, const float* row,
                    float* __restrict F, float* __restrict I, float* __restrict scratch) {
  const bool lstm = core == Core::kLstm;
  const float* f = row + l.f;
  switch (family) {
    case GateFamily::kPlain:
      for (int j = 0; j < d; ++j) F[j] = f[j];
      if (lstm) for (int j = 0; j < d; ++j) I[j] = row[l.i + j];
      else for (int j = 0; j < d; ++j) I[j] = 1.0f - f[j];
      return;
    case GateFamily::kOrdered:
      CumSum(f, F, d);
      if (lstm) {
        CumSum(row + l.i, I, d);
        for (int j = 0; j < d; ++j) I[j] = 1.0f - I[j];
      } else {
        for (int j = 0; j < d; ++j) I[j] = 1.0f - F[j];
      }
      return;
    case GateFamily::kRefine:
    case GateFamily::kOrderedRefine: {
      const float* fv = f;
      if (family == GateFamily::kOrderedRefine) { CumSum(f, scratch, d); fv = scratch; }
      const float* r = row + l.r;
      for (int j = 0; j < d; ++j) {
        const float g = 2.0f * r[j] * fv[j] + (1.0f - 2.0f * r[j]) * fv[j] * fv[j];
        F[j] = g;
        I[j] = 1.0f - g;
      }
      return;
    }
    case GateFamily::kCumaxMaster:
    case GateFamily::kSigmoidMaster: {
      const int m = l.masters;
      float* ft = scratch;
      float* it = scratch + m;
      if (family == GateFamily::kCumaxMaster) {
        CumSum(row + l.mf, ft, m);
        CumSum(row + l.mi, it, m);
        for (int k = 0; k < m; ++k) it[k] = 1.0f - it[k];
      } else {
        for (int k = 0; k < m; ++k) { ft[k] = row[l.mf + k]; it[k] = row[l.mi + k]; }
      }
      for (int k = 0; k < m; ++k) {
        const float w = ft[k] * it[k];
        const float fk = ft[k], ik = it[k];
        for (int c = 0; c < C; ++c) {
          const int j = k * C + c;
          const float base_i = lstm ? row[l.i + j] : 1.0f - f[j];
          F[j] = f[j] * w + (fk - w);
          I[j] = base_i * w + (ik - w);
        }
      }
      return;
    }
  }
}

URGATE_VECTOR_LOOP void GatesBackward(Core core, GateFamily family, const Layout& l, int d, int C, float* row, float* __restrict dF,
                   float* __restrict dI, float* __restrict scratch) {
  const bool lstm = core == Core::kLstm;
  float* f = row + l.f;
  switch (family) {
    case GateFamily::kPlain:
      if (lstm) {
        float* i = row + l.i;
        for (int j = 0; j < d; ++j) {
          f[j] = dF[j] * f[j] * (1.0f - f[j]);
          i[j] = dI[j] * i[j] * (1.0f - i[j]);
        }
      } else {
        for (int j = 0; j < d; ++j) f[j] = (dF[j] - dI[j]) * f[j] * (1.0f - f[j]);
      }
      return;
    case GateFamily::kOrdered:
      if (lstm) {
        CumaxBackwardInPlace(f, dF, scratch, d);
        for (int j = 0; j < d; ++j) dI[j] = -dI[j];
        CumaxBackwardInPlace(row + l.i, dI, scratch, d);
      } else {
        for (int j = 0; j < d; ++j) dF[j] -= dI[j];
        CumaxBackwardInPlace(f, dF, scratch, d);
      }
      return;
    case GateFamily::kRefine:
    case GateFamily::kOrderedRefine: {
      const bool ordered = family == GateFamily::kOrderedRefine;
      float* fv = f;
      if (ordered) { CumSum(f, scratch, d); fv = scratch; }
      float* r = row + l.r;
      // g = 2 r f + (1 - 2r) f^2: dg/df = 2r + 2(1 - 2r) f, dg/dr = 2 f (1 - f).
      for (int j = 0; j < d; ++j) {
        const float dg = dF[j] - dI[j];
        const float fj = fv[j], rj = r[j];
        dF[j] = dg * (2.0f * rj + 2.0f * (1.0f - 2.0f * rj) * fj);  // dL/df
        r[j] = dg * 2.0f * fj * (1.0f - fj) * rj * (1.0f - rj);
      }
      if (ordered) CumaxBackwardInPlace(f, dF, scratch + d, d);
      else for (int j = 0; j < d; ++j) f[j] = dF[j] * f[j] * (1.0f - f[j]);
      return;
    }
    case GateFamily::kCumaxMaster:
    case GateFamily::kSigmoidMaster: {
      const int m = l.masters;
      float* ft = scratch;
      float* it = scratch + m;
      float* dft = scratch + 2 * m;
      float* dit = scratch + 3 * m;
      float* tmp = scratch + 4 * m;
      const bool cumax = family == GateFamily::kCumaxMaster;
      if (cumax) {
        CumSum(row + l.mf, ft, m);
        CumSum(row + l.mi, it, m);
        for (int k = 0; k < m; ++k) it[k] = 1.0f - it[k];
      } else {
        for (int k = 0; k < m; ++k) { ft[k] = row[l.mf + k]; it[k] = row[l.mi + k]; }
      }
      // F = f w + ft - w, I = iota w + it - w, w = ft it.
      for (int k = 0; k < m; ++k) {
        const float w = ft[k] * it[k];
        float sum_ft = 0, sum_it = 0;
        for (int c = 0; c < C; ++c) {
          const int j = k * C + c;
          const float fj = f[j];
          const float iota = lstm ? row[l.i + j] : 1.0f - fj;
          const float dw = dF[j] * (fj - 1.0f) + dI[j] * (iota - 1.0f);
          sum_ft += dF[j] + dw * it[k];
          sum_it += dI[j] + dw * ft[k];
          const float df = dF[j] * w, diota = dI[j] * w;
          if (lstm) {
            f[j] = df * fj * (1.0f - fj);
            row[l.i + j] = diota * iota * (1.0f - iota);
          } else {
            f[j] = (df - diota) * fj * (1.0f - fj);
          }
        }
        dft[k] = sum_ft;
        dit[k] = sum_it;
      }
      if (cumax) {
        CumaxBackwardInPlace(row + l.mf, dft, tmp, m);
        for (int k = 0; k < m; ++k) dit[k] = -dit[k];
        CumaxBackwardInPlace(row + l.mi, dit, tmp, m);
      } else {
        for (int k = 0; k < m; ++k) {
          row[l.mf + k] = dft[k] * ft[k] * (1.0f - ft[k]);
          row[l.mi + k] = dit[k] * it[k] * (1.0f - it[k]);
        }
      }
      return;
    }
  }
}

}  // namespace urgate
