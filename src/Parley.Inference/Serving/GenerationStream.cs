using System.Threading.Channels;
using Parley.Inference.Generation;

namespace Parley.Inference.Serving;

/// <summary>
/// The output of one submitted sequence as it is produced. Read <see cref="Tokens"/> to the end;
/// then <see cref="FinishReason"/> and the counts are final. A failure of the engine ends the
/// reader with the exception.
/// </summary>
public sealed class GenerationStream
{
    internal GenerationStream(int promptTokens)
    {
        PromptTokens = promptTokens;
    }

    internal Channel<StreamedToken> Channel { get; } = System.Threading.Channels.Channel.CreateUnbounded<StreamedToken>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    public ChannelReader<StreamedToken> Tokens => Channel.Reader;
    public int PromptTokens { get; }
    /// <summary>Prompt tokens whose keys and values came from the prefix cache (first admission).</summary>
    public int CachedPromptTokens { get; internal set; }
    public int CompletionTokens { get; internal set; }
    public FinishReason FinishReason { get; internal set; }
}
