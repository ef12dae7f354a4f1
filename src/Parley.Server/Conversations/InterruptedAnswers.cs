using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Parley.Server.Data;
using Parley.Server.Data.Entities;

namespace Parley.Server.Conversations;

/// <summary>
/// Finds answers whose server died while they streamed and marks them interrupted, keeping the text
/// saved so far: at start-up those this node left behind, and on every sweep those no node has
/// touched for <see cref="Stale"/> (a streaming answer is saved every second).
/// </summary>
public sealed class InterruptedAnswers(Database database) : BackgroundService
{
    public static readonly TimeSpan Stale = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan SweepEvery = TimeSpan.FromSeconds(15);
    public const string Reason = "The server stopped while this answer was being written.";

    /// <summary>Marks this node's leftovers and every stale answer; returns how many.</summary>
    public static async Task<int> MarkAsync(Database database, string? node, CancellationToken ct = default)
    {
        await using var db = database.Open();
        var before = DateTime.UtcNow - Stale;
        return await db.Messages
            .Where(m => m.Status == MessageStatus.Streaming && (m.Node == node || m.UpdatedAt < before))
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.Status, MessageStatus.Interrupted).SetProperty(m => m.Error, Reason), ct);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(SweepEvery);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await MarkAsync(database, node: null, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The database is briefly away; the next sweep tries again.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
