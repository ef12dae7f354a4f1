using Parley.Server.Data.Entities;
using Parley.Server.Hosting;
using Parley.Server.OpenAi;

namespace Parley.Server.Conversations;

/// <summary>
/// Turns a branch of a conversation into the model's prompt: the system prompt, then the messages
/// from the root to the one being answered, through the chat template. When that does not fit with
/// room for an answer, the oldest turns are left out (the system prompt and the last message stay).
/// </summary>
public static class ConversationPrompt
{
    /// <summary>The messages from the root down to <paramref name="leafId"/>.</summary>
    public static List<Message> Path(IEnumerable<Message> messages, Guid? leafId)
    {
        var byId = messages.ToDictionary(m => m.Id);
        var path = new List<Message>();
        for (Guid? id = leafId; id is Guid g && byId.TryGetValue(g, out var m) && path.Count <= byId.Count; id = m.ParentId) path.Add(m);
        path.Reverse();
        return path;
    }

    /// <summary>The prompt's tokens and how many the answer may use.</summary>
    public static (List<int> Tokens, int MaxTokens) Build(LoadedModel model, IReadOnlyList<Message> path, string? systemPrompt)
    {
        int context = model.ContextLength;
        int reserve = Math.Min(1024, context / 4);
        for (int skip = 0; ; skip += 2) // whole exchanges, so the prompt still starts with a user turn
        {
            var turns = new List<Dictionary<string, object?>>();
            if (!string.IsNullOrWhiteSpace(systemPrompt)) turns.Add(Turn("system", systemPrompt));
            turns.AddRange(path.Skip(skip).Select(m => Turn(m.Role, m.Content)));
            var tokens = ChatCompletions.Render(model, turns);
            if (tokens.Count + reserve <= context) return (tokens, context - tokens.Count);
            if (skip >= path.Count - 1)
            {
                if (tokens.Count < context) return (tokens, context - tokens.Count);
                throw ApiException.BadRequest($"The message is too long for this model: {tokens.Count} tokens, and the model reads at most {context}.", "content", "context_length_exceeded");
            }
        }
    }

    private static Dictionary<string, object?> Turn(string role, string content) => new() { ["role"] = role, ["content"] = content };
}
