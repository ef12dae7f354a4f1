namespace Parley.Inference.Tests;

/// <summary>
/// Finds the shared test models: PARLEY_TEST_MODELS, else ../shared/models beside the repository.
/// A missing folder fails the test with a message saying how to get it.
/// </summary>
public static class TestModels
{
    public static string Root { get; } = Locate();

    public static string Tiny(string file) => Path.Combine(Root, "tiny", file);

    public static string Vocab(string name) => Path.Combine(Root, "vocab", $"ggml-vocab-{name}.gguf");

    public static string Reference(params string[] parts) => Path.Combine([Path.GetDirectoryName(Root)!, "reference", .. parts]);

    public static IEnumerable<string> TinyModels() => Directory.GetFiles(Path.Combine(Root, "tiny"), "*.gguf").Order();

    private static string Locate()
    {
        string? env = Environment.GetEnvironmentVariable("PARLEY_TEST_MODELS");
        string? dir = env;
        if (string.IsNullOrEmpty(dir))
        {
            var repo = new DirectoryInfo(AppContext.BaseDirectory);
            while (repo != null && !File.Exists(Path.Combine(repo.FullName, "Parley.slnx"))) repo = repo.Parent;
            dir = repo is null ? null : Path.Combine(repo.FullName, "..", "shared", "models");
        }

        if (dir is null || !Directory.Exists(Path.Combine(dir, "tiny")))
        {
            throw new InvalidOperationException(
                $"test models not found at '{dir ?? "(repository not found)"}': put the shared models folder (tiny/, vocab/) beside the " +
                "repository as ../shared/models, or point PARLEY_TEST_MODELS at it");
        }

        return Path.GetFullPath(dir);
    }
}
