package unet

// Blocked float32 matrix multiply for the convolutions, in the BLIS/GotoBLAS layout:
// C (M×N) += A (M×K) · B (K×N), with A the convolution weights packed once into panels
// of mr rows at load time, and B the im2col matrix of the input, never formed. Two ways to
// read B:
//
//   - direct (gemmDirect, the usual case): the input is copied once, zero-padded by k/2,
//     and the micro-kernel reads B's row p at a tabulated offset into it — a panel of
//     pixels in one image row is then contiguous in every row of B, so nothing is packed
//     (packing copied the input k² times and took a quarter of a training step);
//   - packed (gemmCols, for image rows that are not a multiple of nr pixels): B is packed
//     panel by panel (kc×nr) straight from the image.
//
// The micro-kernel computes an mr×nr tile of C in registers (AVX2+FMA assembly on amd64,
// plain Go elsewhere), or an mr×nw tile in AVX-512F where the CPU has it. Both ways sum
// over K in the same order, so they give bit-identical results.

const (
	mr = 6  // rows of the micro-kernel tile (output channels)
	nr = 16 // columns of the micro-kernel tile (pixels)
	kc = 256
	nc = 512
	nw = 32 // columns of the wide (AVX-512) tiles of the direct GEMM and the weight gradient
)

// packA packs the row-major M×K matrix w into panels of mr rows: for panel p, element
// (r, k) is at p·K·mr + k·mr + r; rows beyond M are zero.
func packA(w []float32, m, k int) []float32 {
	out := make([]float32, packASize(m, k))
	packAStrided(out, w, m, k, k, 1)
	return out
}

// packASize is the length of a packed m×k matrix.
func packASize(m, k int) int { return (m + mr - 1) / mr * k * mr }

// packAStrided packs the m×k matrix whose (r, kk) element is src[r·rs + kk·cs] into dst
// (length packASize(m, k)) in the panel layout of packA.
func packAStrided(dst, src []float32, m, k, rs, cs int) {
	np := (m + mr - 1) / mr
	for p := 0; p < np; p++ {
		pan := dst[p*k*mr : (p+1)*k*mr]
		for r := 0; r < mr; r++ {
			row := p*mr + r
			if row >= m {
				for kk := 0; kk < k; kk++ {
					pan[kk*mr+r] = 0
				}
				continue
			}
			off := row * rs
			for kk := 0; kk < k; kk++ {
				pan[kk*mr+r] = src[off+kk*cs]
			}
		}
	}
}

// bSource describes the implicit K×N matrix B of a convolution: B[(ci·k + dy)·k + dx][y·W + x]
// = in[ci][y+dy−pad][x+dx−pad] (zero outside the image).
type bSource struct {
	in   []float32
	h, w int
	k    int
	cs   int // channel stride of in (0: h·w)
}

// pack writes B[p0:p0+kb, j0:j0+nb] into dst as ⌈nb/nr⌉ panels of kb×nr (zero padded).
func (s *bSource) pack(dst []float32, p0, kb, j0, nb int) {
	npan := (nb + nr - 1) / nr
	hw := s.h * s.w
	cs := s.cs
	if cs == 0 {
		cs = hw
	}
	if s.k == 1 {
		for jp := 0; jp < npan; jp++ {
			pan := dst[jp*kb*nr : (jp+1)*kb*nr]
			j := j0 + jp*nr
			cnt := min(nr, j0+nb-j)
			for kk := 0; kk < kb; kk++ {
				d := pan[kk*nr : kk*nr+nr]
				if cnt == nr {
					copy16(d, s.in[(p0+kk)*cs+j:])
					continue
				}
				copy(d, s.in[(p0+kk)*cs+j:(p0+kk)*cs+j+cnt])
				for t := cnt; t < nr; t++ {
					d[t] = 0
				}
			}
		}
		return
	}
	k2 := s.k * s.k
	pad := s.k / 2
	w := s.w
	// per row kk of the block: the source plane and the kernel offset (dy, dx)
	var tab [kc]struct{ off, dy, dx int }
	for kk := 0; kk < kb; kk++ {
		q := p0 + kk
		ci := q / k2
		r := q - ci*k2
		tab[kk].off, tab[kk].dy, tab[kk].dx = ci*cs, r/s.k-pad, r%s.k-pad
	}
	for jp := 0; jp < npan; jp++ {
		pan := dst[jp*kb*nr : (jp+1)*kb*nr]
		j := j0 + jp*nr
		cnt := min(nr, j0+nb-j)
		y := j / w
		x := j - y*w
		oneRun := cnt == nr && x+nr <= w // the panel lies in one image row
		for kk := 0; kk < kb; kk++ {
			e := tab[kk]
			d := pan[kk*nr : kk*nr+nr]
			if oneRun {
				yy, xs := y+e.dy, x+e.dx
				if yy >= 0 && yy < s.h && xs >= 0 && xs+nr <= w {
					copy16(d, s.in[e.off+yy*w+xs:])
					continue
				}
			}
			s.packEdge(d, s.in[e.off:e.off+hw], j, cnt, e.dy, e.dx)
		}
	}
}

// packEdge fills one panel row d (nr values) for pixels j … j+cnt−1 and kernel offset
// (dy, dx), splitting the pixels into runs that lie in one image row and zero-filling
// what falls outside the image.
func (s *bSource) packEdge(d, plane []float32, j, cnt, dy, dx int) {
	w := s.w
	for t := 0; t < cnt; {
		p := j + t
		y := p / w
		x := p - y*w
		run := min(cnt-t, w-x)
		seg := d[t : t+run]
		yy := y + dy
		if yy < 0 || yy >= s.h {
			clear(seg)
		} else {
			row := plane[yy*w : yy*w+w]
			lo := max(0, -(x + dx))
			hi := min(run, w-(x+dx))
			if lo > 0 {
				clear(seg[:min(lo, run)])
			}
			if hi > lo {
				copy(seg[lo:hi], row[x+lo+dx:x+hi+dx])
			}
			if hi < run {
				clear(seg[max(hi, 0):])
			}
		}
		t += run
	}
	if cnt < nr {
		clear(d[cnt:])
	}
}

// packBSize is the scratch length gemmCols needs: the packed B block and an edge tile.
const packBSize = kc*nc + mr*nr

// gemmCols computes C[:, j0:j0+n] += A·B[:, j0:j0+n] for the packed A (M×K) and the
// implicit B; C is M×ldc row-major. bp is scratch of length ≥ packBSize.
func gemmCols(c []float32, ldc int, ap []float32, m, k int, src *bSource, j0, n int, bp []float32) {
	tile := bp[kc*nc : kc*nc+mr*nr] // not a local array: it would escape through kernel
	mpan := (m + mr - 1) / mr
	for jc := j0; jc < j0+n; jc += nc {
		nb := min(nc, j0+n-jc)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			src.pack(bp, pc, kb, jc, nb)
			npan := (nb + nr - 1) / nr
			for ip := 0; ip < mpan; ip++ {
				a := ap[ip*k*mr+pc*mr:]
				rows := min(mr, m-ip*mr)
				for jp := 0; jp < npan; jp++ {
					b := bp[jp*kb*nr:]
					col := jc + jp*nr
					cols := min(nr, jc+nb-col)
					if rows == mr && cols == nr {
						kernel(kb, a, b, c[ip*mr*ldc+col:], ldc)
						continue
					}
					clear(tile)
					kernel(kb, a, b, tile, nr)
					for r := 0; r < rows; r++ {
						cr := c[(ip*mr+r)*ldc+col : (ip*mr+r)*ldc+col+cols]
						for t := range cr {
							cr[t] += tile[r*nr+t]
						}
					}
				}
			}
		}
	}
}

// kernelGo is the portable micro-kernel: C[r·ldc + j] += Σ_p a[p·mr + r]·b[p·nr + j].
func kernelGo(kb int, a, b, c []float32, ldc int) {
	var acc [mr][nr]float32
	a = a[:kb*mr]
	b = b[:kb*nr]
	for p := 0; p < kb; p++ {
		bb := b[p*nr : p*nr+nr : p*nr+nr]
		aa := a[p*mr : p*mr+mr : p*mr+mr]
		rankOne(&acc, aa, bb)
	}
	addTile(c, ldc, &acc)
}

// rankOne adds the outer product aa·bbᵀ (mr × nr) into acc: one step of the portable kernels.
func rankOne(acc *[mr][nr]float32, aa, bb []float32) {
	aa, bb = aa[:mr], bb[:nr]
	for r, ar := range aa {
		row := &acc[r]
		for j := range nr {
			row[j] += ar * bb[j]
		}
	}
}

// addTile adds the mr×nr tile acc into C (row stride ldc).
func addTile(c []float32, ldc int, acc *[mr][nr]float32) {
	for r := 0; r < mr; r++ {
		cr := c[r*ldc : r*ldc+nr]
		for j := range cr {
			cr[j] += acc[r][j]
		}
	}
}

// copy16 copies 16 floats in four 16-byte moves (a plain copy of so few bytes costs a
// runtime.memmove call).
func copy16(d, s []float32) {
	d = d[:16:16]
	s = s[:16:16]
	*(*[4]float32)(d[0:4]) = *(*[4]float32)(s[0:4])
	*(*[4]float32)(d[4:8]) = *(*[4]float32)(s[4:8])
	*(*[4]float32)(d[8:12]) = *(*[4]float32)(s[8:12])
	*(*[4]float32)(d[12:16]) = *(*[4]float32)(s[12:16])
}

// kernelIndGo is the portable micro-kernel of the direct GEMM:
// C[r·ldc + j] += Σ_p a[p·mr + r]·b[offs[p] + j].
func kernelIndGo(kb int, a, b []float32, offs []int32, c []float32, ldc int) {
	var acc [mr][nr]float32
	a = a[:kb*mr]
	for p := 0; p < kb; p++ {
		o := int(offs[p])
		bb := b[o : o+nr : o+nr]
		aa := a[p*mr : p*mr+mr : p*mr+mr]
		rankOne(&acc, aa, bb)
	}
	addTile(c, ldc, &acc)
}

// directB is a GEMM's B operand read in place, with no packing:
// B[p][j] = buf[offs[p] + (j/w)·ld + j%w]. Every panel of nr (or nw) columns lies in one
// row of w (w % nr == 0), and rows are ld apart in buf — for a k×k convolution buf is the
// input zero-padded by k/2 on every side, ld its padded width, and
// offs[(ci·k + dy)·k + dx] = ci·(plane) + dy·ld + dx; for a 1×1 convolution buf is the
// input itself.
type directB struct {
	buf   []float32
	offs  []int32
	w, ld int
	top   int // max(offs)
}

// base is the offset in buf of column j's value in B's row 0 (less offs[0]).
func (s *directB) base(j int) int {
	y := j / s.w
	return y*s.ld + j - y*s.w
}

// gemmDirect computes C[:, j0:j0+n] += A·B[:, j0:j0+n] for the packed A (M×K) and the
// in-place B; j0 and n are multiples of nr. tile is scratch of length ≥ mr·nw. Panels are
// nw columns wide where the wide kernel exists (two image rows' worth where rows have nr
// pixels), else nr.
func gemmDirect(c []float32, ldc int, ap []float32, m, k int, src *directB, j0, n int, tile []float32) {
	mpan := (m + mr - 1) / mr
	for jc := j0; jc < j0+n; jc += nc {
		nb := min(nc, j0+n-jc)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			offs := src.offs[pc : pc+kb]
			for ip := 0; ip < mpan; ip++ {
				a := ap[ip*k*mr+pc*mr:]
				rows := min(mr, m-ip*mr)
				for col := jc; col < jc+nb; {
					base := src.base(col)
					width := nr
					if kernelIndWide != nil && col+nw <= jc+nb {
						width = nw
					}
					var t []float32
					cc, ldcc := c[ip*mr*ldc+col:], ldc
					if rows < mr {
						t = tile[:mr*width]
						clear(t)
						cc, ldcc = t, width
					}
					if width == nw {
						// the second nr columns may start the next image row
						hoff := src.base(col+nr) - base
						kernelIndWide(kb, a, src.buf[base:base+src.top+hoff+nr], offs, cc, ldcc, hoff)
					} else {
						kernelInd(kb, a, src.buf[base:base+src.top+nr], offs, cc, ldcc)
					}
					if rows < mr {
						for r := 0; r < rows; r++ {
							cr := c[(ip*mr+r)*ldc+col : (ip*mr+r)*ldc+col+width]
							for i := range cr {
								cr[i] += t[r*width+i]
							}
						}
					}
					col += width
				}
			}
		}
	}
}

// kernelAIndGo is the portable weight-gradient micro-kernel:
// C[r·ldc + j] += Σ_{y<rows, x<kb} a[aoffs[r] + y·lda + x]·b[(y·kb + x)·ldb + j] — A's rows
// read in place from an image, row by row, B's rows ldb apart.
func kernelAIndGo(kb, rows int, a []float32, aoffs []int32, lda int, b []float32, ldb int, c []float32, ldc int) {
	var acc [mr][nr]float32
	for y := 0; y < rows; y++ {
		for x := 0; x < kb; x++ {
			bo := (y*kb + x) * ldb
			bb := b[bo : bo+nr : bo+nr]
			var aa [mr]float32
			for r := range aa {
				aa[r] = a[int(aoffs[r])+y*lda+x]
			}
			rankOne(&acc, aa[:], bb)
		}
	}
	addTile(c, ldc, &acc)
}
