using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Parley.Server.Data;
using Parley.Server.Data.Entities;
using Parley.Server.OpenAi;

namespace Parley.Server.Accounts;

/// <summary>/api/admin (admins only): users (list, disable), usage per user per day, and whether sign-up is open.</summary>
public static class AdminEndpoints
{
    public const int MaxUsageDays = 366;

    public static void Map(RouteGroupBuilder api)
    {
        var admin = api.MapGroup("/admin").RequireAuthorization(ParleyClaims.AdminRole);
        admin.MapGet("/users", async (ParleyDb db) => Results.Ok((await db.Users.OrderBy(u => u.CreatedAt).ToListAsync()).Select(AuthEndpoints.Describe)));
        admin.MapPatch("/users/{id:guid}", UpdateUser);
        admin.MapGet("/usage", UsageReport);
        admin.MapGet("/settings", async (ParleyDb db) => Results.Ok(new { registrationOpen = await AuthEndpoints.RegistrationOpen(db) }));
        admin.MapPut("/settings", PutSettings);
    }

    /// <summary>{isDisabled}: a disabled user is signed out everywhere and their keys stop working; admins cannot disable themselves.</summary>
    private static async Task<IResult> UpdateUser(HttpContext http, ParleyDb db, Guid id)
    {
        var j = await RequestJson.ReadAsync(http.Request);
        var user = await db.Users.FindAsync(id) ?? throw ApiException.NotFound("user");
        if (j.Bool("isDisabled") is bool disabled)
        {
            if (disabled && id == http.User.UserId()) throw ApiException.BadRequest("You cannot disable your own account.", "isDisabled");
            user.IsDisabled = disabled;
            if (disabled) await db.Sessions.Where(s => s.UserId == id).ExecuteDeleteAsync();
        }

        await db.SaveChangesAsync();
        return Results.Ok(AuthEndpoints.Describe(user));
    }

    /// <summary>Prompt and completion tokens and generations per user per day, newest day first (?days=30).</summary>
    private static async Task<IResult> UsageReport(ParleyDb db, int? days)
    {
        int span = Math.Clamp(days ?? 30, 1, MaxUsageDays);
        var since = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(1 - span);
        var rows = await db.Usage.Where(u => u.Day >= since)
            .GroupBy(u => new { u.Day, u.UserId })
            .Select(g => new { g.Key.Day, g.Key.UserId, Prompt = g.Sum(u => (long)u.PromptTokens), Completion = g.Sum(u => (long)u.CompletionTokens), Requests = g.Count() })
            .ToListAsync();
        var names = await db.Users.ToDictionaryAsync(u => u.Id, u => u.UserName);
        return Results.Ok(rows.OrderByDescending(r => r.Day).ThenBy(r => names.GetValueOrDefault(r.UserId)).Select(r => new
        {
            day = r.Day,
            userId = r.UserId,
            username = names.GetValueOrDefault(r.UserId),
            promptTokens = r.Prompt,
            completionTokens = r.Completion,
            requests = r.Requests,
        }));
    }

    private static async Task<IResult> PutSettings(HttpContext http, ParleyDb db)
    {
        var j = await RequestJson.ReadAsync(http.Request);
        if (j.Bool("registrationOpen") is bool open)
        {
            var setting = await db.ServerSettings.FindAsync(AuthEndpoints.RegistrationSetting);
            if (setting is null) db.ServerSettings.Add(setting = new ServerSetting { Key = AuthEndpoints.RegistrationSetting, Value = "" });
            setting.Value = open ? "open" : "closed";
            await db.SaveChangesAsync();
        }

        return Results.Ok(new { registrationOpen = await AuthEndpoints.RegistrationOpen(db) });
    }
}
