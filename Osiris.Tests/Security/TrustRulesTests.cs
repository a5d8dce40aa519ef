using Osiris.Api.Trust;
using Osiris.Api.Webhooks.Email;
using Osiris.Shared.Contracts;

namespace Osiris.Tests.Security;

/// <summary>The trust rules as pure functions: who matches which list, what a policy may say, which mail proves its sender.</summary>
[Trait("Category", "Unit")]
public sealed class TrustRulesTests
{
    private static TrustPolicy Policy(string[] allow, string[] block) => TrustPolicy.Default with { Allow = allow, Block = block };

    [Fact]
    public void TrustNeedsAnAllowEntryAndProofWhileABlockEntryWinsEvenForAForgery()
    {
        var policy = Policy(["+4915112345678", "ana@example.com", "@partner.example"], ["mallory@partner.example", "+4915199999999"]);
        Assert.Equal(SenderLevels.Trusted, policy.LevelOf(TaskSources.WhatsApp, "4915112345678", authenticated: true));
        Assert.Equal(SenderLevels.Trusted, policy.LevelOf(TaskSources.Email, "Ana@Example.com", authenticated: true));
        Assert.Equal(SenderLevels.Trusted, policy.LevelOf(TaskSources.Email, "bob@partner.example", authenticated: true));
        Assert.Equal(SenderLevels.Unknown, policy.LevelOf(TaskSources.Email, "ana@example.com", authenticated: false));
        Assert.Equal(SenderLevels.Unknown, policy.LevelOf(TaskSources.Email, "bob@evil-partner.example", authenticated: true));
        Assert.Equal(SenderLevels.Unknown, policy.LevelOf(TaskSources.Email, "bob@sub.partner.example", authenticated: true));
        Assert.Equal(SenderLevels.Blocked, policy.LevelOf(TaskSources.Email, "mallory@partner.example", authenticated: true));
        Assert.Equal(SenderLevels.Blocked, policy.LevelOf(TaskSources.WhatsApp, "4915199999999", authenticated: false));
        Assert.Equal(SenderLevels.Unknown, policy.LevelOf(TaskSources.WhatsApp, "4915100000000", authenticated: true));
    }

    [Fact]
    public void TheDefaultsAreSafeForAPublicNumber()
    {
        var unknown = TrustPolicy.Default.Levels.Unknown;
        Assert.Equal((ToolModes.ApproveRisky, ReplyModes.Review, 0.25m, 50_000L, 10, 6),
            (unknown.ToolMode, unknown.ReplyMode, unknown.MaxCostUsd, unknown.MaxTokens, unknown.TasksPerDay!.Value, unknown.MessagesPerMinute!.Value));
        var trusted = TrustPolicy.Default.Levels.Trusted;
        Assert.Equal((ToolModes.Autonomous, ReplyModes.Auto, 5m, 1_000_000L, (int?)null, (int?)null),
            (trusted.ToolMode, trusted.ReplyMode, trusted.MaxCostUsd, trusted.MaxTokens, trusted.TasksPerDay, trusted.MessagesPerMinute));
        Assert.Empty(TrustPolicy.Default.Validate());
    }

    [Fact]
    public void APolicyWithUnknownModesNegativeLimitsOrMalformedEntriesIsRefusedFieldByField()
    {
        var bad = new TrustPolicy(
            new TrustLevels(TrustPolicy.Default.Levels.Trusted with { ToolMode = "yolo" }, TrustPolicy.Default.Levels.Unknown with { MaxCostUsd = -1, MessagesPerMinute = -5 }),
            ["not an address", "+12"], ["ok@example.com"]);
        var errors = bad.Validate();
        Assert.Equal(["allow", "levels.trusted", "levels.unknown"], errors.Keys.Order());
    }

    [Fact]
    public void MovingASenderPutsThemOnOneListAndKeepsDomainEntries()
    {
        var policy = Policy(["@partner.example"], ["bob@partner.example"]);
        var trusted = TrustPolicies.WithSender(policy, TaskSources.Email, "Bob@Partner.example", SenderLevels.Trusted);
        Assert.Equal(["@partner.example", "bob@partner.example"], trusted.Allow);
        Assert.Empty(trusted.Block);
        var blocked = TrustPolicies.WithSender(trusted, TaskSources.Email, "bob@partner.example", SenderLevels.Blocked);
        Assert.Equal(["@partner.example"], blocked.Allow);
        Assert.Equal(["bob@partner.example"], blocked.Block);
        var forgotten = TrustPolicies.WithSender(blocked, TaskSources.WhatsApp, "4915112345678", SenderLevels.Unknown);
        Assert.Equal(blocked.Block, forgotten.Block);
    }

    [Theory]
    [InlineData("mx.osiris.test; dkim=pass header.d=shop.example header.s=s1", true)]
    [InlineData("mx.osiris.test; spf=pass smtp.mailfrom=bounces@shop.example", true)]
    [InlineData("mx.osiris.test; dmarc=pass header.from=shop.example", true)]
    [InlineData("MX.OSIRIS.TEST; dkim=pass header.i=@shop.example", true)]
    [InlineData("mx.osiris.test; dkim=fail header.d=shop.example", false)]
    [InlineData("mx.osiris.test; dkim=pass header.d=evil.example", false)]
    [InlineData("mx.osiris.test; dkim=pass header.d=example", false)]
    [InlineData("mx.osiris.test; dkim=pass header.d=mail.shop.example", false)]
    [InlineData("mx.osiris.test; spf=pass smtp.mailfrom=bounces@evil.example", false)]
    [InlineData("mx.evil.example; dkim=pass header.d=shop.example", false)]
    [InlineData("not a header at all", false)]
    public void OnlyOurServersAlignedPassProvesTheSender(string header, bool proven) =>
        Assert.Equal(proven, EmailAuthenticity.IsAligned([header], "mx.osiris.test", "ceo@shop.example"));

    [Fact]
    public void WithoutAConfiguredAuthservIdNoHeaderCounts() =>
        Assert.False(EmailAuthenticity.IsAligned(["mx.osiris.test; dkim=pass header.d=shop.example"], "", "ceo@shop.example"));

    [Theory]
    [InlineData("send", null, true)]
    [InlineData("send", "Edited reply.", true)]
    [InlineData("discard", null, true)]
    [InlineData("send", "   ", false)]
    [InlineData("forward", null, false)]
    public void AReplyDecisionIsSendOrDiscard(string action, string? text, bool valid) =>
        Assert.Equal(valid, new ReplyDecision(action, text).Validate().Count == 0);
}
