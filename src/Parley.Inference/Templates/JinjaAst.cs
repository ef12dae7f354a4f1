namespace Parley.Inference.Templates;

internal abstract record Node(int Line);

internal abstract record Expr(int Line) : Node(Line);

internal sealed record Literal(object? Value, int Line) : Expr(Line);

internal sealed record NameExpr(string Name, int Line) : Expr(Line);

internal sealed record ListExpr(List<Expr> Items, int Line) : Expr(Line);

internal sealed record TupleExpr(List<Expr> Items, int Line) : Expr(Line);

internal sealed record DictExpr(List<(Expr Key, Expr Value)> Pairs, int Line) : Expr(Line);

internal sealed record GetAttr(Expr Target, string Name, int Line) : Expr(Line);

internal sealed record GetItem(Expr Target, Expr Index, int Line) : Expr(Line);

internal sealed record SliceExpr(Expr? Start, Expr? Stop, Expr? Step, int Line) : Expr(Line);

internal sealed record CallExpr(Expr Target, List<Expr> Args, List<(string Name, Expr Value)> Kwargs, int Line) : Expr(Line);

internal sealed record FilterExpr(Expr Target, string Name, List<Expr> Args, List<(string Name, Expr Value)> Kwargs, int Line) : Expr(Line);

internal sealed record TestExpr(Expr Target, string Name, List<Expr> Args, bool Negated, int Line) : Expr(Line);

internal sealed record UnaryExpr(string Op, Expr Operand, int Line) : Expr(Line);

internal sealed record BinaryExpr(string Op, Expr Left, Expr Right, int Line) : Expr(Line);

internal sealed record CondExpr(Expr Test, Expr Then, Expr? Else, int Line) : Expr(Line);

internal abstract record Stmt(int Line) : Node(Line);

internal sealed record TextStmt(string Text, int Line) : Stmt(Line);

internal sealed record OutputStmt(Expr Value, int Line) : Stmt(Line);

internal sealed record IfStmt(List<(Expr Test, List<Stmt> Body)> Branches, List<Stmt>? Else, int Line) : Stmt(Line);

internal sealed record ForStmt(List<string> Targets, Expr Iterable, Expr? Filter, List<Stmt> Body, List<Stmt>? Else, bool Recursive, int Line) : Stmt(Line);

/// <summary>{% set a = x %}, {% set a, b = x %}, {% set ns.attr = x %}, or a block set when Value is null.</summary>
internal sealed record SetStmt(List<string> Targets, string? Attribute, Expr? Value, List<Stmt>? Body, int Line) : Stmt(Line);

internal sealed record MacroStmt(string Name, List<(string Name, Expr? Default)> Params, List<Stmt> Body, int Line) : Stmt(Line);

internal sealed record CallBlockStmt(CallExpr Call, List<(string Name, Expr? Default)> Params, List<Stmt> Body, int Line) : Stmt(Line);

internal sealed record FilterBlockStmt(FilterExpr Filter, List<Stmt> Body, int Line) : Stmt(Line);

internal sealed record DoStmt(Expr Value, int Line) : Stmt(Line);

internal sealed record LoopControlStmt(bool IsBreak, int Line) : Stmt(Line);

/// <summary>Hugging Face's {% generation %} marks assistant text for training masks; rendering just emits the body.</summary>
internal sealed record GenerationStmt(List<Stmt> Body, int Line) : Stmt(Line);
