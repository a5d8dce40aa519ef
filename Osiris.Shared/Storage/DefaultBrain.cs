using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Osiris.Shared.Contracts;

namespace Osiris.Shared.Storage;

/// <summary>The global default brain (<c>PUT /api/v1/settings/brain</c>), read the same way by the API and the agent.</summary>
public static class DefaultBrain
{
    public const string SettingKey = "brain.default";

    /// <summary>The stored choice if it names a configured brain, else the first configured (offline at the latest).</summary>
    public static async Task<BrainChoice> ReadAsync(OsirisDbContext db, BrainSettings settings, CancellationToken ct)
    {
        var stored = await db.Settings.AsNoTracking().Where(s => s.Key == SettingKey).Select(s => s.Value).SingleOrDefaultAsync(ct);
        var choice = stored is null ? null : JsonSerializer.Deserialize<BrainChoice>(stored, OsirisJson.Options);
        if (choice is not null && settings.ConfiguredBrains().Contains(choice.Brain))
        {
            return string.IsNullOrEmpty(choice.Model) ? choice with { Model = settings.For(choice.Brain).Model } : choice;
        }
        var first = settings.ConfiguredBrains().First();
        return new BrainChoice(first, settings.For(first).Model);
    }
}
