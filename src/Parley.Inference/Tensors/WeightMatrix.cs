using Parley.Inference.Gguf;

namespace Parley.Inference.Tensors;

/// <summary>A weight matrix in the mapped file: <see cref="Rows"/> output features, each a row of <see cref="Cols"/> elements.</summary>
public readonly unsafe struct WeightMatrix
{
    public WeightMatrix(byte* data, GgmlType type, int rows, int cols)
    {
        Data = data;
        Type = type;
        Rows = rows;
        Cols = cols;
        RowBytes = (int)GgmlTypeInfo.RowBytes(type, cols);
    }

    public static WeightMatrix From(GgufFile file, GgufTensorInfo t) =>
        new(file.DataPointer(t), t.Type, checked((int)t.Rows), checked((int)t.Dimensions[0]));

    public byte* Data { get; }
    public GgmlType Type { get; }
    public int Rows { get; }
    public int Cols { get; }
    public int RowBytes { get; }

    public byte* Row(int i) => Data + (long)i * RowBytes;

    /// <summary>Dequantizes row <paramref name="i"/> (an embedding look-up).</summary>
    public void ReadRow(int i, Span<float> dst) => Dequantize.Row(Type, Row(i), dst.Slice(0, Cols));
}
