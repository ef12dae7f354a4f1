namespace Parley.Inference.Models;

/// <summary>
/// Rotary position embedding as ggml computes it: theta starts at pos·freq_scale and is multiplied
/// by base^(-2/n_dims) pair after pair in float (not recomputed with pow), so angles match exactly,
/// and each rotated value is one FMA over the other product, as GCC contracts ggml's x0·cos − x1·sin.
/// The sines and cosines of a batch's positions are computed once per forward pass and shared by
/// every layer and head.
/// </summary>
public sealed unsafe class Rope(ModelConfig c, float* freqFactors)
{
    private readonly float _thetaScale = MathF.Pow(c.RopeFreqBase, -2.0f / c.RopeDims);
    private float[] _cos = [];
    private float[] _sin = [];

    /// <summary>Computes the angles of the <paramref name="n"/> batch positions.</summary>
    public void Prepare(int* positions, int n)
    {
        int half = c.RopeDims / 2;
        if (_cos.Length < n * half)
        {
            _cos = new float[n * half];
            _sin = new float[n * half];
        }

        for (int t = 0; t < n; t++)
        {
            float theta = positions[t];
            for (int i = 0; i < half; i++)
            {
                float ff = freqFactors != null ? freqFactors[i] : 1.0f;
                float a = c.RopeFreqScale * (theta / ff);
                _cos[t * half + i] = MathF.Cos(a);
                _sin[t * half + i] = MathF.Sin(a);
                theta *= _thetaScale;
            }
        }
    }

    /// <summary>Rotates <paramref name="heads"/> consecutive heads of <paramref name="x"/> for batch row <paramref name="t"/>.</summary>
    public void Apply(float* x, int heads, int t)
    {
        int half = c.RopeDims / 2;
        fixed (float* cos0 = &_cos[t * half], sin0 = &_sin[t * half])
        {
            for (int h = 0; h < heads; h++)
            {
                float* v = x + h * c.HeadDim;
                for (int i = 0; i < half; i++)
                {
                    int a = c.RopeNeoX ? i : 2 * i;
                    int b = c.RopeNeoX ? i + half : 2 * i + 1;
                    float x0 = v[a], x1 = v[b];
                    // ggml's rotate_pairs as GCC compiles it (FMA contraction of the first product):
                    // unfused, one value in a few thousand lands on the other side of its F16 rounding.
                    v[a] = MathF.FusedMultiplyAdd(x0, cos0[i], -(x1 * sin0[i]));
                    v[b] = MathF.FusedMultiplyAdd(x0, sin0[i], x1 * cos0[i]);
                }
            }
        }
    }
}
