using Parley.Inference.Tensors;

namespace Parley.Inference.Models;

/// <summary>
/// y = W·x (+ bias) for n rows of x, for each of several projections. Consecutive projections whose
/// weights take the same activation type share one conversion of x and one pool run.
/// </summary>
internal sealed unsafe class Projector(MatMul matmul, ParallelRows rows, ActivationBuffer activations)
{
    /// <summary>
    /// <paramref name="paths"/>: each row's kernel path in llama.cpp (<see cref="TokenPath"/>), or null;
    /// logits take the single-row path whatever is passed.
    /// </summary>
    public void Run(float* x, int n, TokenPath* paths, params ReadOnlySpan<Projection> projections)
    {
        Span<Product> products = stackalloc Product[projections.Length];
        for (int i = 0; i < projections.Length;)
        {
            var type = ActivationLayout.For(projections[i].W.Type);
            activations.Load(type, x, n, projections[i].W.Cols, rows);
            int count = 0;
            for (; i < projections.Length && ActivationLayout.For(projections[i].W.Type) == type; i++)
            {
                products[count++] = new Product(projections[i].W, projections[i].Y, projections[i].W.Rows, projections[i].Logits);
            }

            matmul.Run(products[..count], activations, products[0].Logits ? null : paths);
        }

        foreach (var p in projections)
        {
            if (p.Bias == null) continue;
            for (int t = 0; t < n; t++) Ops.Add(p.Y + (long)t * p.W.Rows, p.Bias, p.W.Rows);
        }
    }
}

/// <summary>One product of <see cref="Projector.Run"/>: its weights, output rows (W.Rows apart) and optional bias.</summary>
internal readonly unsafe struct Projection(WeightMatrix w, float* y, float* bias = null, bool logits = false)
{
    public WeightMatrix W { get; } = w;
    public float* Y { get; } = y;
    public float* Bias { get; } = bias;
    public bool Logits { get; } = logits;
}
