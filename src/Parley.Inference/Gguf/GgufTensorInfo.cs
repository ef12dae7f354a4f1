using Parley.Inference.Tensors;

namespace Parley.Inference.Gguf;

/// <summary>
/// One tensor of a GGUF file. <see cref="Dimensions"/> is in ggml order: Dimensions[0] is the
/// innermost (contiguous) axis, so a weight matrix of n rows by k columns has Dimensions = [k, n].
/// </summary>
public sealed record GgufTensorInfo(string Name, long[] Dimensions, GgmlType Type, long Offset, long ByteSize)
{
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (var d in Dimensions) n *= d;
            return n;
        }
    }

    /// <summary>Number of rows: the product of every axis but the innermost.</summary>
    public long Rows => ElementCount / Dimensions[0];
}
