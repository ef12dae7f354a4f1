using System.Runtime.InteropServices;
using Parley.Inference.Tensors;

namespace Parley.Inference.Models;

/// <summary>
/// The mixture-of-experts feed-forward: each token's router logits pick its experts
/// (<see cref="ExpertRouting"/>); then expert by expert, the tokens routed to it are gathered and go
/// through its gate, up and down matrices together, as one product each (a prompt's tokens share
/// every expert's weight reads); each output row is scaled by its weight, and a token's rows are
/// summed in the order of their weights, as llama.cpp adds them. A token's numbers never depend on
/// which other tokens share its experts: every expert product takes each row on its own
/// (ggml_mul_mat_id's vec_dot path, <see cref="TokenPath.Alone"/>).
/// </summary>
internal sealed unsafe class MixtureOfExperts(ModelConfig c, Projector project) : IDisposable
{
    private readonly List<nint> _blocks = [];
    private int _capacity;
    private float* _logits;    // n × experts
    private int* _selected;    // n × k
    private float* _weights;   // n × k
    private int* _members;     // the current expert's (token · k + slot)s
    private float* _rows;      // its tokens' inputs, gathered: n × dim
    private float* _gate;      // n × expert ffn
    private float* _up;        // n × expert ffn
    private float* _down;      // n × dim
    private float* _slots;     // n × k × dim: each slot's weighted output
    private TokenPath* _alone; // n × Alone

    /// <summary>output[t] = Σ over token t's experts of weight · expert(<paramref name="xn"/>[t]); <paramref name="paths"/> for the router's product.</summary>
    public void Run(ExpertWeights w, float* xn, float* output, int n, TokenPath* paths)
    {
        Ensure(n);
        int experts = c.ExpertCount, k = c.ExpertUsedCount, d = c.EmbeddingLength, ff = c.ExpertFeedForwardLength;
        project.Run(xn, n, paths, new Projection(w.Router, _logits));
        for (int t = 0; t < n; t++) ExpertRouting.Select(_logits + (long)t * experts, experts, k, renormalize: true, _selected + t * k, _weights + t * k);

        for (int e = 0; e < experts; e++)
        {
            int m = 0;
            for (int s = 0; s < n * k; s++)
            {
                if (_selected[s] == e) _members[m++] = s;
            }

            if (m == 0) continue;
            for (int i = 0; i < m; i++) new Span<float>(xn + (long)(_members[i] / k) * d, d).CopyTo(new Span<float>(_rows + (long)i * d, d));
            project.Run(_rows, m, _alone, new Projection(w.Gate[e], _gate), new Projection(w.Up[e], _up));
            for (int i = 0; i < m; i++) Ops.SwiGlu(_gate + (long)i * ff, _up + (long)i * ff, ff);
            project.Run(_gate, m, _alone, new Projection(w.Down[e], _down));
            for (int i = 0; i < m; i++)
            {
                int s = _members[i];
                float weight = _weights[s];
                float* src = _down + (long)i * d, dst = _slots + (long)s * d;
                for (int j = 0; j < d; j++) dst[j] = src[j] * weight;
            }
        }

        for (int t = 0; t < n; t++)
        {
            float* y = output + (long)t * d;
            new Span<float>(_slots + (long)t * k * d, d).CopyTo(new Span<float>(y, d));
            for (int s = 1; s < k; s++) Ops.Add(y, _slots + ((long)t * k + s) * d, d);
        }
    }

    private void Ensure(int n)
    {
        if (n <= _capacity) return;
        Free();
        _capacity = Math.Max(n, 2 * _capacity);
        long cap = _capacity, k = c.ExpertUsedCount, d = c.EmbeddingLength, ff = c.ExpertFeedForwardLength;
        _logits = (float*)Alloc(cap * c.ExpertCount * sizeof(float));
        _selected = (int*)Alloc(cap * k * sizeof(int));
        _weights = (float*)Alloc(cap * k * sizeof(float));
        _members = (int*)Alloc(cap * k * sizeof(int));
        _rows = (float*)Alloc(cap * d * sizeof(float));
        _gate = (float*)Alloc(cap * ff * sizeof(float));
        _up = (float*)Alloc(cap * ff * sizeof(float));
        _down = (float*)Alloc(cap * d * sizeof(float));
        _slots = (float*)Alloc(cap * k * d * sizeof(float));
        _alone = (TokenPath*)Alloc(cap);
        new Span<byte>(_alone, _capacity).Fill((byte)TokenPath.Alone);
    }

    private void* Alloc(long bytes)
    {
        void* p = NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, 64), 64);
        _blocks.Add((nint)p);
        return p;
    }

    private void Free()
    {
        foreach (var p in _blocks) NativeMemory.AlignedFree((void*)p);
        _blocks.Clear();
    }

    public void Dispose() => Free();
}
