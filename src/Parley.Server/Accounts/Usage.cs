using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Parley.Inference.Serving;
using Parley.Server.Data;
using Parley.Server.Data.Entities;

namespace Parley.Server.Accounts;

/// <summary>Records the tokens each generation used, per user and day, for the admin's usage report.</summary>
public static class Usage
{
    public static void Add(ParleyDb db, Guid userId, string model, int promptTokens, int completionTokens) =>
        db.Usage.Add(new UsageRecord
        {
            UserId = userId,
            Day = DateOnly.FromDateTime(DateTime.UtcNow),
            Model = model,
            PromptTokens = promptTokens,
            CompletionTokens = completionTokens,
        });

    /// <summary>After a /v1 request of a signed-in user: what its sequences used (anonymous loopback use is not recorded).</summary>
    public static async Task RecordAsync(HttpContext http, string model, IReadOnlyList<GenerationStream> streams)
    {
        if (!http.User.IsSignedIn()) return;
        var db = http.RequestServices.GetRequiredService<ParleyDb>();
        Add(db, http.User.UserId(), model, streams.Sum(s => s.PromptTokens), streams.Sum(s => s.CompletionTokens));
        await db.SaveChangesAsync(CancellationToken.None);
    }
}
