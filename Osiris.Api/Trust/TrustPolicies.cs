using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Osiris.Shared.Contracts;
using Osiris.Shared.Storage;

namespace Osiris.Api.Trust;

/// <summary>The trust policy, one settings row read on every channel message, so every replica applies the same rules.</summary>
public static class TrustPolicies
{
    public const string SettingKey = "trust.policy";

    public static async Task<TrustPolicy> ReadAsync(OsirisDbContext db, CancellationToken ct)
    {
        var stored = await db.Settings.AsNoTracking().Where(s => s.Key == SettingKey).Select(s => s.Value).SingleOrDefaultAsync(ct);
        return stored is null ? TrustPolicy.Default : JsonSerializer.Deserialize<TrustPolicy>(stored, OsirisJson.Options) ?? TrustPolicy.Default;
    }

    /// <summary>Stages the new policy in <paramref name="db"/>; the caller saves it with its audit record and event.</summary>
    public static async Task StageAsync(OsirisDbContext db, TrustPolicy policy, CancellationToken ct)
    {
        var json = JsonSerializer.Serialize(policy, OsirisJson.Options);
        var row = await db.Settings.SingleOrDefaultAsync(s => s.Key == SettingKey, ct);
        if (row is null)
        {
            db.Settings.Add(new SettingRecord { Key = SettingKey, Value = json });
        }
        else
        {
            row.Value = json;
        }
    }

    /// <summary>The policy with a sender moved to a level: trusted onto the allow list, blocked onto the block list, unknown off both.</summary>
    public static TrustPolicy WithSender(TrustPolicy policy, string channel, string sender, string level)
    {
        var entry = TrustPolicy.EntryFor(channel, sender);
        var allow = policy.Allow.Where(e => !TrustPolicy.Matches(e, channel, sender) || e.Trim().StartsWith('@')).ToList();
        var block = policy.Block.Where(e => !TrustPolicy.Matches(e, channel, sender) || e.Trim().StartsWith('@')).ToList();
        if (level == SenderLevels.Trusted)
        {
            allow.Add(entry);
        }
        else if (level == SenderLevels.Blocked)
        {
            block.Add(entry);
        }
        return policy with { Allow = allow, Block = block };
    }
}
