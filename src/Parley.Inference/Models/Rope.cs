namespace Parley.Inference.Models;

/// <summary>
/// Rotary position embedding as ggml computes it: theta starts at pos·freq_scale and is multiplied
/// by base^(-2/n_dims) pair after pair in float (not recomputed with pow), so angles match exactly.
/// </summary>
public sealed unsafe class Rope(ModelConfig c, float* freqFactors)
{
    private readonly float[] _cos = new float[c.RopeDims / 2];
    private readonly float[] _sin = new float[c.RopeDims / 2];
    private readonly float _thetaScale = MathF.Pow(c.RopeFreqBase, -2.0f / c.RopeDims);

    /// <summary>Rotates <paramref name="heads"/> consecutive heads of <paramref name="x"/> for position <paramref name="pos"/>.</summary>
    public void Apply(float* x, int heads, int pos)
    {
        int half = c.RopeDims / 2;
        float theta = pos;
        for (int i = 0; i < half; i++)
        {
            float ff = freqFactors != null ? freqFactors[i] : 1.0f;
            float t = c.RopeFreqScale * (theta / ff);
            _cos[i] = MathF.Cos(t);
            _sin[i] = MathF.Sin(t);
            theta *= _thetaScale;
        }

        for (int h = 0; h < heads; h++)
        {
            float* v = x + h * c.HeadDim;
            for (int i = 0; i < half; i++)
            {
                int a = c.RopeNeoX ? i : 2 * i;
                int b = c.RopeNeoX ? i + half : 2 * i + 1;
                float x0 = v[a], x1 = v[b];
                v[a] = x0 * _cos[i] - x1 * _sin[i];
                v[b] = x0 * _sin[i] + x1 * _cos[i];
            }
        }
    }
}
