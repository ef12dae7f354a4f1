namespace Parley.Server.Hosting;

/// <summary>
/// The folder of GGUF files Parley serves: PARLEY_MODELS, else ~/.parley/models. A model's id is its
/// file name without ".gguf"; the first in ordinal order is the default.
/// </summary>
public sealed class ModelStore(string root)
{
    public const string EnvironmentVariable = "PARLEY_MODELS";

    public string Root { get; } = Path.GetFullPath(root);

    public static ModelStore Default()
    {
        string? env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        return new ModelStore(string.IsNullOrEmpty(env)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".parley", "models")
            : env);
    }

    public static string IdOf(string path) => Path.GetFileNameWithoutExtension(path);

    /// <summary>The store's GGUF files (partial downloads excluded), sorted by name.</summary>
    public IReadOnlyList<string> List() =>
        Directory.Exists(Root)
            ? Directory.GetFiles(Root, "*.gguf").Order(StringComparer.Ordinal).ToList()
            : [];
}
