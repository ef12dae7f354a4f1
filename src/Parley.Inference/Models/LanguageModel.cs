using Parley.Inference.Gguf;
using Parley.Inference.Models.Architectures;
using Parley.Inference.Tensors;

namespace Parley.Inference.Models;

/// <summary>Opens a GGUF file as the model its architecture defines.</summary>
public static class LanguageModel
{
    /// <summary>Opens a model; <paramref name="threads"/> 0 means one per core.</summary>
    public static ILanguageModel Load(string path, int threads = 0, KernelLevel? level = null)
    {
        var file = GgufFile.Open(path);
        try
        {
            return ArchitectureCatalog.For(file).Create(file, threads > 0 ? threads : Environment.ProcessorCount, level ?? KernelLevels.Best);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }
}
