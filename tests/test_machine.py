from darkroom.machine import cpu_description


def test_cpu_description_names_the_cpu_and_its_vector_extensions(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Example CPU 9000\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n")
    described = cpu_description(info)
    assert described.startswith("Example CPU 9000, ")
    assert described.endswith("cores, AVX-512 VNNI")
    info.write_text("model name\t: Older CPU\nflags\t\t: fpu sse2 avx2\n")
    assert cpu_description(info).endswith("cores, AVX2")
    assert "cores" in cpu_description(tmp_path / "missing")  # no cpuinfo: still an answer, no error
