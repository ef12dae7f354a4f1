using System.Collections.Concurrent;
using Parley.Inference.Serving;
using Parley.Server.Data;
using Parley.Server.Data.Entities;
using Parley.Server.Hosting;

namespace Parley.Server.Conversations;

/// <summary>The answers this node is generating, by message; stop and shutdown find them here.</summary>
public sealed class Generations(Database database)
{
    private readonly ConcurrentDictionary<Guid, Generation> _running = new();

    public Generation? Find(Guid messageId) => _running.GetValueOrDefault(messageId);

    public List<Generation> InConversation(Guid conversationId) => _running.Values.Where(g => g.Message.ConversationId == conversationId).ToList();

    public int RunningFor(Guid userId) => _running.Values.Count(g => g.UserId == userId);

    /// <summary>Submits the answer to the model's scheduler and starts saving it; throws what the scheduler throws (a full queue).</summary>
    public Generation Start(Message assistant, Guid userId, LoadedModel model, GenerationRequest request)
    {
        var generation = new Generation(assistant, userId);
        var stream = model.Scheduler.Submit(request, generation.Cancellation);
        _running[assistant.Id] = generation;
        generation.Start(stream, database, g => _running.TryRemove(g.Message.Id, out _));
        return generation;
    }

    /// <summary>At shutdown: ends every answer as interrupted and waits (a little) for them to be saved.</summary>
    public async Task InterruptAllAsync(TimeSpan wait)
    {
        var all = _running.Values.ToList();
        foreach (var g in all) g.Cancel(MessageStatus.Interrupted);
        await Task.WhenAny(Task.WhenAll(all.Select(g => g.Completion)), Task.Delay(wait));
    }
}
