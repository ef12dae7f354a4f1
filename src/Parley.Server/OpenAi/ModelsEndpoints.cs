using Microsoft.AspNetCore.Http;
using Parley.Server.Hosting;

namespace Parley.Server.OpenAi;

/// <summary>GET /v1/models and /v1/models/{id}: every model the server offers, loaded or not.</summary>
public static class ModelsEndpoints
{
    public static IResult List(ModelRegistry models) =>
        Results.Json(new { @object = "list", data = models.Ids.Select(id => Describe(models, id)) });

    public static IResult Get(string id, ModelRegistry models) =>
        models.Contains(id)
            ? Results.Json(Describe(models, id))
            : Results.Json(ApiErrors.Envelope(ApiException.ModelNotFound(id)), statusCode: 404);

    private static object Describe(ModelRegistry models, string id)
    {
        var loaded = models.Loaded().FirstOrDefault(m => m.Id == id);
        return new
        {
            id,
            @object = "model",
            created = loaded?.Created ?? 0,
            owned_by = "parley",
            context_length = loaded?.ContextLength,
        };
    }
}
