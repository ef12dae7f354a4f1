using Parley.Inference.Tensors;

namespace Parley.Inference.Models;

/// <summary>
/// Causal grouped-query attention over one sequence's cache, split across the pool by (token, head).
/// Numerics follow llama.cpp without flash attention: Q and K meet as F16, scores are scaled
/// inside a F32 softmax, and the probabilities are rounded to F16 before they weight the F16 values.
/// </summary>
internal sealed unsafe class Attention(ModelConfig c, ForwardScratch s) : IParallelWork
{
    private readonly float _scale = 1.0f / MathF.Sqrt(c.HeadDim);
    private int _batch;
    private int* _positions;
    private int _contextLength;

    public void Run(WorkerPool pool, int batch, int* positions, int context)
    {
        _batch = batch;
        _positions = positions;
        _contextLength = context;
        pool.Run(this);
    }

    public void Execute(int index, int count)
    {
        int hd = c.HeadDim, group = c.HeadCount / c.KvHeadCount;
        int total = _batch * c.HeadCount;
        int per = (total + count - 1) / count;
        float* scores = s.Scores + (long)index * _contextLength;
        for (int job = index * per; job < Math.Min(total, (index + 1) * per); job++)
        {
            int t = job / c.HeadCount, h = job % c.HeadCount;
            int kvh = h / group;
            int n = _positions[t] + 1;
            float* q = s.Q + (long)t * c.QDim + h * hd;
            float max = float.NegativeInfinity;
            for (int j = 0; j < n; j++)
            {
                float v = Ops.Dot(q, s.KeysF32 + (long)j * c.KvDim + kvh * hd, hd) * _scale;
                scores[j] = v;
                max = MathF.Max(max, v);
            }

            double sum = 0;
            for (int j = 0; j < n; j++)
            {
                float e = MathF.Exp(scores[j] - max);
                scores[j] = e;
                sum += e;
            }

            float inv = (float)(1.0 / sum);
            float* o = s.Attn + (long)t * c.QDim + h * hd;
            new Span<float>(o, hd).Clear();
            for (int j = 0; j < n; j++)
            {
                Ops.Axpy(Fp16.Round(scores[j] * inv), s.ValuesF32 + (long)j * c.KvDim + kvh * hd, o, hd);
            }
        }
    }
}
