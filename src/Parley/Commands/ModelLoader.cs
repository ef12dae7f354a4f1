using Parley.Cli;
using Parley.Inference.Models;

namespace Parley.Commands;

internal static class ModelLoader
{
    /// <summary>Loads a model for a command; a missing file is a user error with one line.</summary>
    public static ILanguageModel Load(string path, int threads)
    {
        if (!File.Exists(path)) throw new CliException($"model file not found: {path}");
        return LanguageModel.Load(path, threads);
    }
}
