using Parley.Cli;
using Parley.Server.Hosting;

namespace Parley.Commands;

/// <summary>parley models: the GGUF files in the model store, the default first.</summary>
public static class ModelsCommand
{
    public static int Run(string[] args, TextWriter stdout)
    {
        new Arguments(args, new HashSet<string>()).RejectUnknown();
        var store = ModelStore.Default();
        var models = store.List();
        stdout.WriteLine($"model store: {store.Root}");
        if (models.Count == 0)
        {
            stdout.WriteLine("  (empty: run 'parley pull hf:OWNER/REPO/FILE.gguf')");
            return 0;
        }

        int width = models.Max(m => ModelStore.IdOf(m).Length);
        for (int i = 0; i < models.Count; i++)
        {
            string id = ModelStore.IdOf(models[i]);
            double mib = new FileInfo(models[i]).Length / 1048576.0;
            stdout.WriteLine($"  {id.PadRight(width)}  {mib,9:F1} MiB{(i == 0 ? "  (default)" : "")}");
        }

        return 0;
    }
}
