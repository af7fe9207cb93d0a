using Mono.Cecil;
using Mono.Cecil.Cil;

namespace QuantTune.Tests.Runtime;

/// <summary>
/// Finds, in compiled IL, every place where a TorchSharp <c>Scalar</c> can be finalized while
/// libtorch still reads it. A <c>Scalar</c> made by an implicit conversion (<c>x * 0.5</c>,
/// <c>x.add(y)</c>'s hidden alpha of 1) is unreachable as soon as its native handle has been
/// read, so a garbage collection started by another thread during the native call lets the
/// finalizer thread free the <c>c10::Scalar</c> under libtorch's feet ("Expected false to be
/// true" from <c>c10::Scalar::toFloat</c>). A creation is safe only when the Scalar is kept
/// alive past the call: disposed by a <c>using</c> (the Dispose call keeps it reachable) or
/// held in a field.
/// </summary>
internal static class ScalarLifetimeAudit
{
    const string ScalarType = "TorchSharp.Scalar";

    /// <summary>TorchSharp's own methods that create a Scalar and let it die unpinned, directly or through a call.</summary>
    public static HashSet<string> HazardousTorchSharpMethods(string torchSharpPath)
    {
        using var module = ModuleDefinition.ReadModule(torchSharpPath);
        var methods = AllMethods(module).Where(m => m.HasBody).ToList();
        var hazardous = new HashSet<string>(methods.Where(m => UnpinnedCreations(m).Any()).Select(m => m.FullName));
        var callers = new Dictionary<string, List<string>>();
        foreach (var m in methods)
            foreach (var callee in m.Body.Instructions.Where(IsCall).Select(i => ((MethodReference)i.Operand).FullName).Distinct())
            {
                if (!callers.TryGetValue(callee, out var list)) callers[callee] = list = new List<string>();
                list.Add(m.FullName);
            }
        var work = new Queue<string>(hazardous);
        while (work.Count > 0)
            if (callers.TryGetValue(work.Dequeue(), out var list))
                foreach (var caller in list)
                    if (hazardous.Add(caller)) work.Enqueue(caller);
        return hazardous;
    }

    /// <summary>Each unsafe site in the assembly: "Type::Method (file:line): what".</summary>
    public static List<string> Violations(string assemblyPath, HashSet<string> hazardousTorchSharp)
    {
        var parameters = new ReaderParameters { ReadSymbols = File.Exists(Path.ChangeExtension(assemblyPath, ".pdb")) };
        using var module = ModuleDefinition.ReadModule(assemblyPath, parameters);
        var found = new List<string>();
        foreach (var method in AllMethods(module).Where(m => m.HasBody))
        {
            foreach (var creation in UnpinnedCreations(method))
                found.Add($"{Where(method, creation)}: a Scalar made by {((MethodReference)creation.Operand).Name} is not kept alive past the native call");
            foreach (var call in method.Body.Instructions.Where(IsCall))
            {
                var callee = (MethodReference)call.Operand;
                if (hazardousTorchSharp.Contains(callee.FullName))
                    found.Add($"{Where(method, call)}: calls {callee.DeclaringType.Name}.{callee.Name}({string.Join(", ", callee.Parameters.Select(p => p.ParameterType.Name))}), which makes a Scalar it does not keep alive");
            }
        }
        return found;
    }

    static IEnumerable<Instruction> UnpinnedCreations(MethodDefinition method)
    {
        var instructions = method.Body.Instructions;
        for (var i = 0; i < instructions.Count; i++)
        {
            if (!IsScalarCreation(instructions[i])) continue;
            var next = i + 1 < instructions.Count ? instructions[i + 1] : null;
            if (next is not null && (next.OpCode == OpCodes.Stsfld || next.OpCode == OpCodes.Stfld)) continue;
            if (next is not null && LocalIndex(next, isStore: true) is int local && IsDisposed(method, local)) continue;
            if (next is not null && next.OpCode == OpCodes.Ret && method.ReturnType.FullName == ScalarType) continue;
            yield return instructions[i];
        }
    }

    static bool IsScalarCreation(Instruction instruction) =>
        IsCall(instruction) && instruction.Operand is MethodReference m && m.ReturnType.FullName == ScalarType
        && (m.Name == "op_Implicit" || m.Name == "ToScalar");

    static bool IsDisposed(MethodDefinition method, int local)
    {
        var instructions = method.Body.Instructions;
        for (var i = 0; i + 1 < instructions.Count; i++)
            if (LocalIndex(instructions[i], isStore: false) == local)
            {
                // using: ldloc s; brfalse; ldloc s; callvirt Dispose (or ldloc s; callvirt Dispose)
                var next = instructions[i + 1];
                if (IsCall(next) && ((MethodReference)next.Operand).Name == "Dispose") return true;
            }
        return false;
    }

    static int? LocalIndex(Instruction instruction, bool isStore)
    {
        var code = instruction.OpCode.Code;
        if (isStore)
            return code switch
            {
                Code.Stloc_0 => 0, Code.Stloc_1 => 1, Code.Stloc_2 => 2, Code.Stloc_3 => 3,
                Code.Stloc_S or Code.Stloc => ((VariableDefinition)instruction.Operand).Index,
                _ => null,
            };
        return code switch
        {
            Code.Ldloc_0 => 0, Code.Ldloc_1 => 1, Code.Ldloc_2 => 2, Code.Ldloc_3 => 3,
            Code.Ldloc_S or Code.Ldloc => ((VariableDefinition)instruction.Operand).Index,
            _ => null,
        };
    }

    static bool IsCall(Instruction instruction) =>
        instruction.OpCode == OpCodes.Call || instruction.OpCode == OpCodes.Callvirt || instruction.OpCode == OpCodes.Newobj;

    static IEnumerable<MethodDefinition> AllMethods(ModuleDefinition module)
    {
        IEnumerable<TypeDefinition> Types(TypeDefinition t) => new[] { t }.Concat(t.NestedTypes.SelectMany(Types));
        return module.Types.SelectMany(Types).SelectMany(t => t.Methods);
    }

    static string Where(MethodDefinition method, Instruction instruction)
    {
        var name = $"{method.DeclaringType.FullName}::{method.Name}";
        if (!method.DebugInformation.HasSequencePoints) return name;
        SequencePoint? point = null;
        for (var i = instruction; i is not null && point is null; i = i.Previous)
            point = method.DebugInformation.GetSequencePoint(i);
        return point is null || point.IsHidden ? name : $"{name} ({Path.GetFileName(point.Document.Url)}:{point.StartLine})";
    }
}
