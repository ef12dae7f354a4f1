using Parley.Inference.Gguf;
using Parley.Inference.Tensors;

namespace Parley.Inference.Models;

/// <summary>
/// Looks tensors up by llama.cpp's names and checks their shape and type, so a malformed file fails
/// at load with the tensor's name rather than mid-generation.
/// </summary>
internal static unsafe class TensorReader
{
    /// <summary>A matrix of <paramref name="cols"/> columns and, when given, <paramref name="rows"/> rows, of a type with a product.</summary>
    public static WeightMatrix Matrix(GgufFile f, string name, int cols, int? rows)
    {
        var t = f.GetTensor(name);
        if (t.Dimensions.Length != 2 || t.Dimensions[0] != cols || (rows is int r && t.Dimensions[1] != r))
        {
            throw new GgufFormatException(f.Path, $"tensor[{name}].dims",
                $"expected [{cols}, {(rows?.ToString() ?? "n")}], found [{string.Join(", ", t.Dimensions)}]");
        }

        if (t.Dimensions[1] > int.MaxValue) throw new GgufFormatException(f.Path, $"tensor[{name}].dims", "expected fewer than 2^31 rows");
        ActivationLayout.For(t.Type); // throws for types without a product
        return WeightMatrix.From(f, t);
    }

    /// <summary>The <paramref name="count"/> matrices of a 3-D tensor [<paramref name="cols"/>, <paramref name="rows"/>, <paramref name="count"/>] (one per expert).</summary>
    public static WeightMatrix[] Stack(GgufFile f, string name, int cols, int rows, int count)
    {
        var t = f.GetTensor(name);
        if (t.Dimensions.Length != 3 || t.Dimensions[0] != cols || t.Dimensions[1] != rows || t.Dimensions[2] != count)
        {
            throw new GgufFormatException(f.Path, $"tensor[{name}].dims", $"expected [{cols}, {rows}, {count}], found [{string.Join(", ", t.Dimensions)}]");
        }

        ActivationLayout.For(t.Type); // throws for types without a product
        var first = new WeightMatrix(f.DataPointer(t), t.Type, rows, cols);
        var stack = new WeightMatrix[count];
        for (int i = 0; i < count; i++) stack[i] = new WeightMatrix(first.Data + (long)i * rows * first.RowBytes, t.Type, rows, cols);
        return stack;
    }

    /// <summary>An F32 vector the file must have.</summary>
    public static float* Vector(GgufFile f, string name, int length)
    {
        f.GetTensor(name); // throws, naming the tensor, when it is missing
        return OptionalVector(f, name, length);
    }

    /// <summary>An F32 vector, or null when the file has no tensor of that name.</summary>
    public static float* OptionalVector(GgufFile f, string name, int length)
    {
        var t = f.FindTensor(name);
        if (t is null) return null;
        if (t.Type != GgmlType.F32 || t.ElementCount != length)
        {
            throw new GgufFormatException(f.Path, $"tensor[{name}]", $"expected F32 of {length} elements, found {t.Type} of {t.ElementCount}");
        }

        return (float*)f.DataPointer(t);
    }
}
