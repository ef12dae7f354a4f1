using Parley.Inference.Tokenization;

namespace Parley.Inference.Generation;

/// <summary>
/// Turns one sequence's sampled tokens into the text a client sees: it ends at an end-of-generation
/// token or a stop string, never splits a character and never shows any part of a stop string.
/// Shared by single-stream generation and the server's scheduler.
/// </summary>
public sealed class OutputAssembler(Tokenizer tokenizer, GenerationOptions options)
{
    private readonly Utf8StreamDecoder _decoder = new();
    private readonly StopStringFilter _stops = new(options.Stop);

    /// <summary>Set once generation has ended at an end-of-generation token or a stop string.</summary>
    public bool Stopped { get; private set; }

    /// <summary>
    /// Takes a sampled token and returns the text it completes (possibly empty). An end-of-generation
    /// token returns null: it ends the output and is not part of it.
    /// </summary>
    public string? Accept(int id)
    {
        if (options.StopAtEndOfGeneration && tokenizer.Vocab.IsEndOfGeneration(id))
        {
            Stopped = true;
            return null;
        }

        string text = _stops.Push(_decoder.Push(tokenizer, id));
        Stopped = _stops.Stopped;
        return text;
    }

    /// <summary>The text still held back when generation ends for another reason (length, context).</summary>
    public string Flush() => Stopped ? "" : _stops.Push(_decoder.Flush()) + _stops.Flush();
}
