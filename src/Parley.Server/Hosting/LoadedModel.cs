using System.Text;
using Parley.Inference.Models;
using Parley.Inference.Serving;
using Parley.Inference.Templates;
using Parley.Inference.Tokenization;

namespace Parley.Server.Hosting;

/// <summary>A model ready to serve: weights, tokenizer, chat template and its own scheduler.</summary>
public sealed class LoadedModel : IDisposable
{
    private LoadedModel(string id, string path, ILanguageModel model, SchedulerOptions options, string? template)
    {
        Id = id;
        Path = path;
        Model = model;
        Tokenizer = Tokenizer.FromGguf(model.File);
        Template = template is null ? ChatTemplate.FromGguf(model.File) : ChatTemplate.Parse(template);
        Scheduler = new Scheduler(model, Tokenizer, options);
        if (options.WarmUp) SchedulerWarmUp.Run(Scheduler, model.VocabSize, TimeSpan.FromSeconds(1.5));
        Created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    }

    public string Id { get; }
    public string Path { get; }
    public ILanguageModel Model { get; }
    public Tokenizer Tokenizer { get; }
    public ChatTemplate Template { get; }
    public Scheduler Scheduler { get; }
    public long Created { get; }
    public int ContextLength => Model.Config.ContextLength;

    /// <summary>Loads the file; <paramref name="template"/>, when given, replaces the model's chat template.</summary>
    public static LoadedModel Load(string id, string path, int threads, SchedulerOptions options, string? template = null)
    {
        var model = LanguageModel.Load(path, threads);
        try
        {
            return new LoadedModel(id, path, model, options, template);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>A special token's text (bos_token, eos_token for templates), or "" when the model has none.</summary>
    public string SpecialText(int id) => id >= 0 && id < Tokenizer.Vocab.Count ? Tokenizer.Vocab.Tokens[id] : "";

    /// <summary>The bytes of one token, as OpenAI's logprobs report them.</summary>
    public byte[] TokenBytes(int id)
    {
        var bytes = new List<byte>();
        Tokenizer.AppendBytes(id, bytes);
        return [.. bytes];
    }

    public string TokenText(int id) => Encoding.UTF8.GetString(TokenBytes(id));

    public void Dispose()
    {
        Scheduler.Dispose();
        Model.Dispose();
    }
}
