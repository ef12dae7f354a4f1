using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Parley.Inference.Tensors;

/// <summary>Element-wise and reduction operations of the forward pass, with ggml's numerics.</summary>
public static unsafe class Ops
{
    /// <summary>ggml_rms_norm then ggml_mul: the sum of squares in double, scale = 1/sqrtf(mean + eps), then the weight.</summary>
    public static void RmsNorm(float* x, float* weight, float* y, int n, float eps)
    {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += (double)(x[i] * x[i]);
        float mean = (float)(sum / n);
        float scale = 1.0f / MathF.Sqrt(mean + eps);
        for (int i = 0; i < n; i++) y[i] = x[i] * scale * weight[i];
    }

    public static void Add(float* x, float* y, int n)
    {
        int i = 0;
        for (; i + 8 <= n; i += 8) Vector256.Store(Vector256.Load(x + i) + Vector256.Load(y + i), x + i);
        for (; i < n; i++) x[i] += y[i];
    }

    /// <summary>SwiGLU as ggml_vec_swiglu_f32: gate = silu(gate) · up, silu(x) = x / (1 + e^-x) with ggml's vector exp.</summary>
    public static void SwiGlu(float* gate, float* up, int n)
    {
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var g = Vector256.Load(gate + i);
            var silu = g / (Vector256<float>.One + VectorMath.Exp(-g));
            Vector256.Store(silu * Vector256.Load(up + i), gate + i);
        }

        for (; i < n; i++)
        {
            float g = gate[i];
            gate[i] = g / (1.0f + MathF.Exp(-g)) * up[i];
        }
    }

    public static float Dot(float* a, float* b, int n)
    {
        int i = 0;
        float s;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var acc = Vector512<float>.Zero;
            for (; i + 16 <= n; i += 16) acc = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), acc);
            s = Vector512.Sum(acc);
        }
        else
        {
            var acc = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8) acc = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), acc);
            s = Vector256.Sum(acc);
        }

        for (; i < n; i++) s += a[i] * b[i];
        return s;
    }

    /// <summary>y += a·x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Axpy(float a, float* x, float* y, int n)
    {
        int i = 0;
        var va = Vector256.Create(a);
        for (; i + 8 <= n; i += 8) Vector256.Store(Vector256.FusedMultiplyAdd(va, Vector256.Load(x + i), Vector256.Load(y + i)), y + i);
        for (; i < n; i++) y[i] += a * x[i];
    }

    /// <summary>Rounds every value to the nearest half, the precision ggml gives operands it converts to F16.</summary>
    public static void RoundToHalf(float* x, int n)
    {
        int i = 0;
        for (; i + 8 <= n; i += 8) Vector256.Store(VectorMath.RoundToHalf(Vector256.Load(x + i)), x + i);
        for (; i < n; i++) x[i] = Fp16.Round(x[i]);
    }
}
