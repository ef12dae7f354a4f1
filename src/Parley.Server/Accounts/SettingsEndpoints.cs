using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Parley.Server.Data;
using Parley.Server.Data.Entities;
using Parley.Server.Hosting;
using Parley.Server.OpenAi;

namespace Parley.Server.Accounts;

/// <summary>/api/settings: the user's default model, custom instructions (system prompt), temperature and theme.</summary>
public static class SettingsEndpoints
{
    public const int MaxSystemPrompt = 20_000;
    private static readonly string[] Themes = ["light", "dark", "system"];

    public static void Map(RouteGroupBuilder api)
    {
        var settings = api.MapGroup("/settings").RequireAuthorization();
        settings.MapGet("", async (HttpContext http, ParleyDb db) => Results.Ok(View(await db.Settings.FindAsync(http.User.UserId()) ?? new UserSettings())));
        settings.MapPut("", Put);
    }

    private static object View(UserSettings s) => new { defaultModel = s.DefaultModel, systemPrompt = s.SystemPrompt, temperature = s.Temperature, theme = s.Theme };

    /// <summary>Replaces the fields given; absent fields keep their value, null clears one.</summary>
    private static async Task<IResult> Put(HttpContext http, ParleyDb db, ModelRegistry models)
    {
        var j = await RequestJson.ReadAsync(http.Request);
        var userId = http.User.UserId();
        var s = await db.Settings.FindAsync(userId);
        if (s is null) db.Settings.Add(s = new UserSettings { UserId = userId });
        if (j.Root.TryGetProperty("defaultModel", out _))
        {
            string? model = j.String("defaultModel");
            if (model is not null && !models.Contains(model)) throw ApiException.ModelNotFound(model);
            s.DefaultModel = model;
        }

        if (j.Root.TryGetProperty("systemPrompt", out _))
        {
            string? prompt = j.String("systemPrompt");
            if (prompt?.Length > MaxSystemPrompt) throw ApiException.BadRequest($"Custom instructions hold at most {MaxSystemPrompt} characters.", "systemPrompt");
            s.SystemPrompt = string.IsNullOrWhiteSpace(prompt) ? null : prompt;
        }

        if (j.Root.TryGetProperty("temperature", out _)) s.Temperature = j.Float("temperature", 0, 2);
        if (j.String("theme") is { } theme)
        {
            s.Theme = Themes.Contains(theme) ? theme : throw ApiException.BadRequest("'theme' is light, dark or system.", "theme");
        }

        await db.SaveChangesAsync();
        return Results.Ok(View(s));
    }
}
