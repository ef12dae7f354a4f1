using System.Runtime.Intrinsics;
using Parley.Inference.Tensors;

namespace Parley.Inference.Models;

/// <summary>
/// Which experts a token goes to, as llama.cpp's build_moe_ffn computes softmax gating: a softmax
/// over the router's logits (ggml_soft_max: max subtracted, ggml's vector exp eight at a time, the
/// sum in double), the <c>k</c> largest probabilities in descending order, and, when renormalised,
/// those divided by their sum (clamped below at F16's smallest normal, as ggml does).
/// </summary>
internal static unsafe class ExpertRouting
{
    private const float SmallestWeightSum = 6.103515625e-5f;

    /// <summary>
    /// Softmax of <paramref name="logits"/> (<paramref name="experts"/> values, overwritten with the
    /// probabilities), then the top <paramref name="k"/> into <paramref name="selected"/> and their
    /// weights into <paramref name="weights"/>. Ties go to the lower expert index.
    /// </summary>
    public static void Select(float* logits, int experts, int k, bool renormalize, int* selected, float* weights)
    {
        float max = float.NegativeInfinity;
        for (int i = 0; i < experts; i++) max = MathF.Max(max, logits[i]);
        double sum = 0;
        int e = 0;
        for (; e + 8 <= experts; e += 8)
        {
            var v = VectorMath.Exp(Vector256.Load(logits + e) - Vector256.Create(max));
            v.Store(logits + e);
            sum += Vector256.Sum(v);
        }

        for (; e < experts; e++)
        {
            logits[e] = MathF.Exp(logits[e] - max);
            sum += logits[e];
        }

        float scale = (float)(1.0 / sum);
        for (int i = 0; i < experts; i++) logits[i] *= scale;

        for (int j = 0; j < k; j++)
        {
            int best = -1;
            for (int i = 0; i < experts; i++)
            {
                if (Taken(selected, j, i)) continue;
                if (best < 0 || logits[i] > logits[best]) best = i;
            }

            selected[j] = best;
            weights[j] = logits[best];
        }

        if (!renormalize) return;
        double total = 0;
        for (int j = 0; j < k; j++) total += weights[j];
        float divisor = MathF.Max((float)total, SmallestWeightSum);
        for (int j = 0; j < k; j++) weights[j] /= divisor;
    }

    private static bool Taken(int* selected, int count, int expert)
    {
        for (int j = 0; j < count; j++)
        {
            if (selected[j] == expert) return true;
        }

        return false;
    }
}
