using Parley.Inference.Gguf;

namespace Parley.Inference.Models.Architectures;

/// <summary>The families Parley runs, found by a file's <c>general.architecture</c>.</summary>
public static class ArchitectureCatalog
{
    public static IReadOnlyList<Architecture> All { get; } = [new Llama(), new Qwen2(), new Qwen3(), new Qwen3Moe()];

    /// <summary>The file's family; an unsupported one fails naming the file, the field and what is supported.</summary>
    public static Architecture For(GgufFile f)
    {
        string name = f.GetString("general.architecture");
        foreach (var a in All)
        {
            if (a.Name == name) return a;
        }

        throw new GgufFormatException(f.Path, "general.architecture",
            $"expected one of the supported architectures ({string.Join(", ", All.Select(a => a.Name))}), found \"{name}\"");
    }
}
