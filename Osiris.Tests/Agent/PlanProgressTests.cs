using Osiris.Agent.Loop;

namespace Osiris.Tests.Agent;

/// <summary>"Step N done." in a model's message ticks step N of its plan; headings are not steps.</summary>
[Trait("Category", "Unit")]
public sealed class PlanProgressTests
{
    private const string Plan = "[offline brain — scripted, not AI] Plan:\n1. Look at the workspace.\n2. Write greet.sh.\n3. Run it.";

    [Fact]
    public void TheReportedStepsAreFoundOnceEach() =>
        Assert.Equal([1, 3], PlanProgress.StepsDone("Step 1 done. Then step 3 is done, and step 1 done again."));

    [Fact]
    public void TickingMarksTheNthStepLineAndLeavesTheHeadingAndOthers()
    {
        var ticked = PlanProgress.Tick(Plan, [2]);
        Assert.Equal("[offline brain — scripted, not AI] Plan:\n1. Look at the workspace.\n- [x] Write greet.sh.\n3. Run it.", ticked);
        Assert.Equal(ticked, PlanProgress.Tick(ticked, [2])); // already done: unchanged
        Assert.Equal("- [x] a\n- [x] b", PlanProgress.Tick("- a\n- [ ] b", [1, 2]));
        Assert.Equal(Plan, PlanProgress.Tick(Plan, [9]));
    }

    [Fact]
    public void TextWithoutAReportedStepTicksNothing() =>
        Assert.Empty(PlanProgress.StepsDone("I am done with the work; the steps went fine."));
}
