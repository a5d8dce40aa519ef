using Osiris.Agent.Brains;

namespace Osiris.Tests.Agent;

/// <summary>What a replay counts as the same tool result.</summary>
public sealed class ReplayComparisonTests
{
    private const string Recorded = "exit code 127, 50 ms\ngreet.sh: 5: show_date: not found\nHello, world!\n";

    [Fact]
    public void ACommandsDurationAndTheInterleavingOfItsTwoStreamsDoNotCount()
    {
        Assert.Equal(ReplayChatClient.Normalize(Recorded), ReplayChatClient.Normalize("exit code 127, 33 ms\nHello, world!\ngreet.sh: 5: show_date: not found\n"));
        Assert.Equal(ReplayChatClient.Normalize("no exit code (stopped), 30012 ms\nslow"), ReplayChatClient.Normalize("no exit code (stopped), 30007 ms\nslow"));
    }

    [Fact]
    public void AnotherExitCodeOrAnotherLineIsADifference()
    {
        Assert.NotEqual(ReplayChatClient.Normalize(Recorded), ReplayChatClient.Normalize("exit code 0, 50 ms\ngreet.sh: 5: show_date: not found\nHello, world!\n"));
        Assert.NotEqual(ReplayChatClient.Normalize(Recorded), ReplayChatClient.Normalize("exit code 127, 50 ms\ngreet.sh: 5: show_date: not found\nHello, World!\n"));
        // Other tools' results are compared exactly, line order included.
        Assert.NotEqual(ReplayChatClient.Normalize("a\nb"), ReplayChatClient.Normalize("b\na"));
        Assert.Equal("Created notes.md (5 bytes).", ReplayChatClient.Normalize("Created notes.md (5 bytes)."));
    }
}
