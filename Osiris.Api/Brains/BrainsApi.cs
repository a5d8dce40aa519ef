using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Osiris.Api.Security;
using Osiris.Api.Validation;
using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using Osiris.Shared.Storage;

namespace Osiris.Api.Brains;

/// <summary>Which model providers exist, and the global default brain.</summary>
public static class BrainsApi
{
    public static RouteGroupBuilder MapBrainsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1").RequireRole(Policies.Viewer).ValidateRequests().WithTags("Brains");
        group.MapGet("/brains", ListBrains);
        group.MapGet("/settings/brain", GetDefault);
        group.MapPut("/settings/brain", SetDefault).RequireRole(Policies.Admin);
        return group;
    }

    public static async Task<Ok<BrainCatalog>> ListBrains(OsirisDbContext db, IOptions<BrainSettings> settings, CancellationToken ct) =>
        TypedResults.Ok(new BrainCatalog(Catalog(settings.Value), await DefaultBrain.ReadAsync(db, settings.Value, ct)));

    public static async Task<Ok<BrainChoice>> GetDefault(OsirisDbContext db, IOptions<BrainSettings> settings, CancellationToken ct) =>
        TypedResults.Ok(await DefaultBrain.ReadAsync(db, settings.Value, ct));

    public static async Task<Results<Ok<BrainChoice>, ValidationProblem>> SetDefault(BrainChoice choice, HttpContext http, OsirisDbContext db,
        IOptions<BrainSettings> settings, EventPublisher publisher, TimeProvider time, CancellationToken ct)
    {
        if (NotConfigured(choice, settings.Value) is { } errors)
        {
            return TypedResults.ValidationProblem(errors);
        }
        var normalised = choice with { Model = string.IsNullOrWhiteSpace(choice.Model) ? settings.Value.For(choice.Brain).Model : choice.Model };
        var json = JsonSerializer.Serialize(normalised, OsirisJson.Options);
        var row = await db.Settings.SingleOrDefaultAsync(s => s.Key == DefaultBrain.SettingKey, ct);
        if (row is null)
        {
            db.Settings.Add(new SettingRecord { Key = DefaultBrain.SettingKey, Value = json });
        }
        else
        {
            row.Value = json;
        }
        Audit.AuditLog.Add(db, time, http, AuditActions.BrainDefault, null, normalised);
        await publisher.PublishAsync(db, EventTypes.SystemNotification, null,
            new SystemNotificationPayload(NotificationLevels.Info, $"Default brain is now {normalised.Brain} ({normalised.Model}), set by {Audit.AuditLog.Actor(http)}."), ct);
        return TypedResults.Ok(normalised);
    }

    public static IReadOnlyList<BrainInfo> Catalog(BrainSettings settings) => BrainNames.All.Select(brain =>
    {
        var provider = settings.For(brain);
        var model = provider.Model.Length > 0 ? provider.Model : brain;
        return new BrainInfo(brain, brain == BrainNames.Offline || provider.IsConfigured, model,
            BrainNames.OfferedModels(brain).Prepend(model).Distinct().ToList(),
            Offline: brain == BrainNames.Offline);
    }).ToList();

    /// <summary>Null when the (well-formed) choice names a brain configured here; otherwise the error, naming what is.</summary>
    public static Dictionary<string, string[]>? NotConfigured(BrainChoice choice, BrainSettings settings) =>
        settings.ConfiguredBrains().Contains(choice.Brain)
            ? null
            : new() { ["brain"] = [$"Brain '{choice.Brain}' is not configured. Configured: {string.Join(", ", settings.ConfiguredBrains())}."] };
}
