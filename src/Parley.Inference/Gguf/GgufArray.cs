namespace Parley.Inference.Gguf;

/// <summary>
/// A metadata array. <see cref="Items"/> is a typed CLR array (string[], int[], float[], …, or
/// GgufArray[] for nested arrays) so that large vocabularies stay compact.
/// </summary>
public sealed record GgufArray(GgufValueType ElementType, Array Items)
{
    public int Count => Items.Length;
}
