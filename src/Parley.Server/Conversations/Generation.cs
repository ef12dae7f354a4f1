using System.Text;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Parley.Inference.Generation;
using Parley.Inference.Serving;
using Parley.Server.Data;
using Parley.Server.Data.Entities;

namespace Parley.Server.Conversations;

/// <summary>What a watcher of an answer sees: text as it arrives, then the finished message.</summary>
public sealed record GenerationEvent(string? Text, Message? Final);

/// <summary>
/// One answer being generated, independent of any HTTP request: a client that disconnects only stops
/// watching, the answer still completes and is saved. The text is written to the message row when
/// it starts and then every second (which also tells other nodes this one is alive), and at the end
/// with the final status: complete, stopped (the user pressed stop), interrupted (the server is
/// shutting down) or failed.
/// </summary>
public sealed class Generation
{
    public static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(1);

    private readonly StringBuilder _text = new();
    private readonly List<Channel<GenerationEvent>> _watchers = [];
    private readonly CancellationTokenSource _cancel = new();
    private readonly TaskCompletionSource _firstText = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private MessageStatus? _cancelledAs;
    private Message? _final;

    public Generation(Message message, Guid userId)
    {
        Message = message;
        UserId = userId;
    }

    /// <summary>The assistant message (as created; the database row holds the progress).</summary>
    public Message Message { get; }
    public Guid UserId { get; }
    public CancellationToken Cancellation => _cancel.Token;
    public Task Completion { get; private set; } = Task.CompletedTask;

    /// <summary>Ends the answer early; it is saved with <paramref name="status"/> (stopped or interrupted).</summary>
    public void Cancel(MessageStatus status)
    {
        lock (_watchers) _cancelledAs ??= status;
        _cancel.Cancel();
    }

    /// <summary>The text so far and everything after it; completes after the final message.</summary>
    public ChannelReader<GenerationEvent> Watch()
    {
        var channel = Channel.CreateUnbounded<GenerationEvent>(new UnboundedChannelOptions { SingleReader = true });
        lock (_watchers)
        {
            if (_text.Length > 0) channel.Writer.TryWrite(new GenerationEvent(_text.ToString(), null));
            if (_final is not null)
            {
                channel.Writer.TryWrite(new GenerationEvent(null, _final));
                channel.Writer.TryComplete();
            }
            else
            {
                _watchers.Add(channel);
            }
        }

        return channel.Reader;
    }

    public void Start(GenerationStream stream, Database database, Action<Generation> finished) =>
        Completion = Task.Run(() => RunAsync(stream, database, finished));

    private async Task RunAsync(GenerationStream stream, Database database, Action<Generation> finished)
    {
        var status = MessageStatus.Complete;
        string? error = null;
        using var flushing = new CancellationTokenSource();
        var flusher = FlushLoopAsync(database, flushing.Token);
        try
        {
            await foreach (var token in stream.Tokens.ReadAllAsync(CancellationToken.None))
            {
                if (token.Text.Length == 0) continue;
                lock (_watchers)
                {
                    _text.Append(token.Text);
                    _firstText.TrySetResult();
                    foreach (var w in _watchers) w.Writer.TryWrite(new GenerationEvent(token.Text, null));
                }
            }

            if (stream.FinishReason == FinishReason.Cancelled) status = _cancelledAs ?? MessageStatus.Stopped;
        }
        catch (Exception e)
        {
            status = MessageStatus.Failed;
            error = e.Message;
        }

        await flushing.CancelAsync();
        await flusher;
        Message final;
        try
        {
            final = await SaveFinalAsync(database, status, error, stream);
        }
        catch (Exception e)
        {
            // The database is away: watchers still get the answer; the row stays 'streaming' until a sweep marks it interrupted.
            lock (_watchers) final = new Message { Id = Message.Id, ConversationId = Message.ConversationId, ParentId = Message.ParentId, Role = Message.Role, Model = Message.Model, Content = _text.ToString(), Status = MessageStatus.Failed, Error = $"The answer could not be saved: {e.Message}" };
        }

        lock (_watchers)
        {
            _final = final;
            foreach (var w in _watchers)
            {
                w.Writer.TryWrite(new GenerationEvent(null, final));
                w.Writer.TryComplete();
            }

            _watchers.Clear();
        }

        finished(this);
    }

    /// <summary>Saves the text when the first piece arrives, then every second (also a heartbeat while the model is busy).</summary>
    private async Task FlushLoopAsync(Database database, CancellationToken ct)
    {
        try
        {
            await Task.WhenAny(_firstText.Task, Task.Delay(FlushInterval, ct));
            using var timer = new PeriodicTimer(FlushInterval);
            do
            {
                string text;
                lock (_watchers) text = _text.ToString();
                await using var db = database.Open();
                await db.Messages.Where(m => m.Id == Message.Id)
                    .ExecuteUpdateAsync(s => s.SetProperty(m => m.Content, text).SetProperty(m => m.UpdatedAt, DateTime.UtcNow), ct);
            }
            while (await timer.WaitForNextTickAsync(ct));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task<Message> SaveFinalAsync(Database database, MessageStatus status, string? error, GenerationStream stream)
    {
        await using var db = database.Open();
        var message = await db.Messages.SingleAsync(m => m.Id == Message.Id);
        lock (_watchers) message.Content = _text.ToString();
        message.Status = status;
        message.Error = error;
        message.PromptTokens = stream.PromptTokens;
        message.CompletionTokens = stream.CompletionTokens;
        message.UpdatedAt = DateTime.UtcNow;
        Accounts.Usage.Add(db, UserId, message.Model ?? "", stream.PromptTokens, stream.CompletionTokens);
        await db.SaveChangesAsync();
        return message;
    }
}
